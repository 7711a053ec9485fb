import pandas as pd
import hierbayes as hb

df = pd.read_pickle('/work/main/bench/results/s40_all/data/classic_verbagg.pkl')
fit = hb.Model('r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)', df, family='bernoulli').fit(draws=1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
print(fit.summary())
