import pandas as pd
import hierbayes as hb

df = pd.read_pickle('/work/main/bench/results/s15_glmm/data/survey.pkl')
fit = hb.Model('y ~ male + repvote + region + (1|state) + (1|eth) + (1|educ) + (1|age) + (1|male:eth) + (1|educ:age) + (1|educ:eth)', df, family='bernoulli').fit(draws=1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
print(fit.summary())
