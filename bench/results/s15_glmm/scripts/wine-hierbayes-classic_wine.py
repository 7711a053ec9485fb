import pandas as pd
import hierbayes as hb

df = pd.read_pickle('/work/main/bench/results/s15_glmm/data/classic_wine.pkl')
fit = hb.Model('rating ~ temp + contact + (1 | judge)', df, family='cumulative').fit(draws=1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
print(fit.summary())
