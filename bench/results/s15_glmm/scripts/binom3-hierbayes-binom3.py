import pandas as pd
import hierbayes as hb

df = pd.read_pickle('/work/main/bench/results/s15_glmm/data/binom3.pkl')
fit = hb.Model('cbind(y, n - y) ~ x + (1 | region) + (1 | region:clinic)', df, family='binomial').fit(draws=1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
print(fit.summary())
