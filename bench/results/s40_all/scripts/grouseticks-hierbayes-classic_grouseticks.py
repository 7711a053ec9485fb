import pandas as pd
import hierbayes as hb

df = pd.read_pickle('/work/main/bench/results/s40_all/data/classic_grouseticks.pkl')
fit = hb.Model('TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)', df, family='poisson').fit(draws=1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
print(fit.summary())
