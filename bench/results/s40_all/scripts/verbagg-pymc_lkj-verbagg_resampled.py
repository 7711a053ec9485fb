import sys
sys.path.insert(0, '/work/main/bench')
import arviz as az
import pandas as pd
import pymc as pm
from bench_cases import CASES
from bench_tools import build_hand_model

df = pd.read_pickle('/work/main/bench/results/s40_all/data/verbagg_resampled.pkl')
model = build_hand_model(CASES['verbagg'], df)
idata = pm.sample(model=model, draws=1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
names = [v for v in idata.posterior.data_vars if not v.startswith(('z', 'L'))]
print(az.summary(idata, var_names=names))
