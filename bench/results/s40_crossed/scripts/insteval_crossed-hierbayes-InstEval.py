import pandas as pd
import hierbayes as hb

df = pd.read_pickle('/work/main/bench/results/s40_crossed/data/InstEval.pkl')
fit = hb.Model('y ~ service + (1 | s) + (1 | d) + (1 | dept)', df, family='gaussian').fit(draws=1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
print(fit.summary())
