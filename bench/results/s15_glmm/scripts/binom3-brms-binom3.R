t0 <- proc.time()[['elapsed']]
suppressPackageStartupMessages(library(brms))
cat('HBBENCH import_s', proc.time()[['elapsed']] - t0, '\n')
df <- read.csv("/work/main/bench/results/s15_glmm/data/binom3.csv", stringsAsFactors = FALSE)
df[["region"]] <- factor(as.character(df[["region"]]), levels = c("r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"), ordered = FALSE)
df[["clinic"]] <- factor(as.character(df[["clinic"]]), levels = c("c0", "c1", "c2", "c3", "c4"), ordered = FALSE)
t1 <- proc.time()[['elapsed']]
fit <- brm(y | trials(n) ~ x + (1 | region) + (1 | region:clinic), data = df, family = binomial(),
           chains = 4, cores = 2, iter = 2000, warmup = 1000, seed = 1, refresh = 0)
cat('HBBENCH total_s', proc.time()[['elapsed']] - t1, '\n')
print(summary(fit))
elapsed <- rstan::get_elapsed_time(fit$fit)
cat('HBBENCH sampling_s', sum(elapsed) / min(4, 2), '\n')
draws <- posterior::as_draws_array(fit)
keep <- grep("^(b_|sd_|cor_|sigma|shape|Intercept)", posterior::variables(draws), value = TRUE)
s <- posterior::summarise_draws(posterior::subset_draws(draws, variable = keep),
                                'rhat', 'ess_bulk')
cat('HBBENCH min_ess_bulk', min(s$ess_bulk), '\n')
cat('HBBENCH max_rhat', max(s$rhat), '\n')
np <- nuts_params(fit)
cat('HBBENCH divergences', sum(np$Value[np$Parameter == 'divergent__']), '\n')
cat('HBBENCH rows', nrow(df), '\n')
