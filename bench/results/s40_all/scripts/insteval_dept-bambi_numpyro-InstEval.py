import arviz as az
import bambi as bmb
import pandas as pd

df = pd.read_pickle('/work/main/bench/results/s40_all/data/InstEval.pkl')
model = bmb.Model('y ~ lectage + service + (lectage | dept)', df, family='gaussian')
idata = model.fit(inference_method='numpyro', draws=1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
print(az.summary(idata))
