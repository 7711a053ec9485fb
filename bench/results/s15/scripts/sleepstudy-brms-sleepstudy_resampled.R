t0 <- proc.time()[['elapsed']]
suppressPackageStartupMessages(library(brms))
cat('HBBENCH import_s', proc.time()[['elapsed']] - t0, '\n')
df <- read.csv("/work/main/bench/results/s15/data/sleepstudy_resampled.csv", stringsAsFactors = FALSE)
df[["Subject"]] <- factor(as.character(df[["Subject"]]), levels = c("S00", "S01", "S02", "S03", "S04", "S05", "S06", "S07", "S08", "S09", "S10", "S11", "S12", "S13", "S14", "S15", "S16", "S17"), ordered = FALSE)
t1 <- proc.time()[['elapsed']]
fit <- brm(Reaction ~ Days + (Days | Subject), data = df, family = gaussian(),
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
