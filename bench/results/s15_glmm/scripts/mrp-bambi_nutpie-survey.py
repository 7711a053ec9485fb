import arviz as az
import bambi as bmb
import pandas as pd

df = pd.read_pickle('/work/main/bench/results/s15_glmm/data/survey.pkl')
model = bmb.Model('y ~ male + repvote + region + (1|state) + (1|eth) + (1|educ) + (1|age) + (1|male:eth) + (1|educ:age) + (1|educ:eth)', df, family='bernoulli')
idata = model.fit(inference_method='nutpie', draws=1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
print(az.summary(idata))
