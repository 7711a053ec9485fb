t0 <- proc.time()[['elapsed']]
suppressPackageStartupMessages(library(brms))
cat('HBBENCH import_s', proc.time()[['elapsed']] - t0, '\n')
df <- read.csv("/work/main/bench/results/s15_glmm/data/classic_wine.csv", stringsAsFactors = FALSE)
df[["rating"]] <- factor(as.character(df[["rating"]]), levels = c("1", "2", "3", "4", "5"), ordered = TRUE)
df[["temp"]] <- factor(as.character(df[["temp"]]), levels = c("cold", "warm"), ordered = FALSE)
df[["contact"]] <- factor(as.character(df[["contact"]]), levels = c("no", "yes"), ordered = FALSE)
df[["judge"]] <- factor(as.character(df[["judge"]]), levels = c("1", "2", "3", "4", "5", "6", "7", "8", "9"), ordered = FALSE)
t1 <- proc.time()[['elapsed']]
fit <- brm(rating ~ temp + contact + (1 | judge), data = df, family = cumulative(),
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
