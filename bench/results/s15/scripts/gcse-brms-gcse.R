t0 <- proc.time()[['elapsed']]
suppressPackageStartupMessages(library(brms))
cat('HBBENCH import_s', proc.time()[['elapsed']] - t0, '\n')
df <- read.csv("/work/main/bench/results/s15/data/gcse.csv", stringsAsFactors = FALSE)
df[["school"]] <- factor(as.character(df[["school"]]), levels = c("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32", "33", "34", "35", "36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47", "49", "50", "51", "52", "53", "54", "55", "56", "57", "58", "59", "60", "61", "62", "63", "64", "65"), ordered = FALSE)
t1 <- proc.time()[['elapsed']]
fit <- brm(gcse ~ lrt + (lrt | school), data = df, family = gaussian(),
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
