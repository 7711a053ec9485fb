import arviz as az
import bambi as bmb
import pandas as pd

df = pd.read_pickle('/work/main/bench/results/s40_all/data/classic_grouseticks.pkl')
model = bmb.Model('TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)', df, family='poisson')
idata = model.fit(inference_method='nutpie', draws=1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
print(az.summary(idata))
