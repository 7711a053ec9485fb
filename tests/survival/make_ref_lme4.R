# kidney's weibull frailty model fitted by lme4 (issue 16: agreement with an established implementation).
#
# Run from the repository root, after make_refs.R has written data/kidney.csv:
#   Rscript tests/survival/make_ref_lme4.R        (lme4, jsonlite; a few seconds)
# Writes tests/survival/refs/kidney_weibull_frailty_lme4.json.
#
# Why lme4 fits this model: a weibull proportional-hazards model with a gaussian (lognormal) frailty,
#   h(t) = alpha t^(alpha - 1) exp(eta + v_g),  v_g ~ N(0, s^2),  right censoring,
# has per row log-likelihood d (log alpha + (alpha - 1) log t + eta + v) - t^alpha exp(eta + v), d = status.
# For a fixed shape alpha that is the Poisson log-likelihood of d with log mean alpha log t + eta + v
# (d is 0 / 1, so log d! = 0) plus d (log alpha - log t), which does not involve eta, v or s. So
#   glmer(status ~ age + sex + disease + offset(alpha * log(time)) + (1 | patient), family = poisson, nAGQ = 25)
# maximises the marginal likelihood over (beta, s) for that alpha by adaptive Gauss-Hermite quadrature,
# and maximising logLik(glmer) + sum(d (log alpha - log t)) over alpha (optimize) gives the ML fit.
# The AFT (survreg / ml_ghq / hierbayes) parameters are scale = 1 / alpha, b = -beta / alpha,
# frailty sd on log time = s / alpha; the log-likelihood is the same number (time scale, as survreg's).
# Standard errors printed by glmer are conditional on alpha; the JSON stores them as such.
# lme4's logLik() with nAGQ > 1 is built from the deviance residuals, which for a poisson response
# leaves out sum(y - y log y - log y!) = sum(status) (y is 0 / 1); logLik() with nAGQ = 1 has it. The
# constant moves no estimate; it is added back below so that logLik is the full one (as survreg's).
suppressMessages({library(lme4); library(jsonlite)})

out_dir <- file.path("tests", "survival")
kd <- read.csv(file.path(out_dir, "data", "kidney.csv"))
fl <- fromJSON(file.path(out_dir, "data", "factors.json"))$kidney
for (col in names(fl)) kd[[col]] <- factor(kd[[col]], levels = fl[[col]]$levels)
kd$log_time <- log(kd$time)

n_agq <- 25
fit_at <- function(alpha, nAGQ = n_agq) {
  kd$off <- alpha * kd$log_time
  glmer(status ~ age + sex + disease + offset(off) + (1 | patient), data = kd, family = poisson,
        nAGQ = nAGQ, control = glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
}
extra <- function(alpha) sum(kd$status * (log(alpha) - kd$log_time))
full_ll <- function(fit, alpha, nAGQ) as.numeric(logLik(fit)) - (nAGQ > 1) * sum(kd$status) + extra(alpha)
profile_ll <- function(alpha, nAGQ = n_agq) full_ll(fit_at(alpha, nAGQ), alpha, nAGQ)

opt <- optimize(profile_ll, c(0.5, 3), maximum = TRUE, tol = 1e-7)
alpha <- opt$maximum
fit <- fit_at(alpha)
beta <- fixef(fit); se_cond <- sqrt(diag(as.matrix(vcov(fit))))
s_ph <- as.data.frame(VarCorr(fit))$sdcor[1]
ll <- full_ll(fit, alpha, n_agq)

# profile curvature in log(alpha) (SE of log shape, other parameters re-maximised)
h <- 1e-3
d2 <- (profile_ll(alpha * exp(h)) - 2 * ll + profile_ll(alpha * exp(-h))) / h^2
checks <- list(
  logLik_nAGQ_1_minus_nAGQ_25 = profile_ll(alpha, 1) - ll,
  logLik_nAGQ_15_minus_nAGQ_25 = profile_ll(alpha, 15) - ll,
  optimize_objective_minus_refit = opt$objective - ll,
  glmer_convergence_messages = fit@optinfo$conv$lme4$messages)

ml <- fromJSON(file.path(out_dir, "refs", "kidney_weibull_frailty.json"), simplifyVector = FALSE)
ml_fe <- setNames(vapply(ml$fixed_effects, function(f) f$estimate, 0),
                  vapply(ml$fixed_effects, function(f) f$term, ""))
terms_hb <- c("Intercept", "age", "sex[female]", "disease[GN]", "disease[AN]", "disease[PKD]")
stopifnot(identical(names(beta), c("(Intercept)", "age", "sexfemale", "diseaseGN", "diseaseAN", "diseasePKD")))
b_aft <- -beta / alpha
scale <- 1 / alpha
sd_aft <- s_ph / alpha

ref <- list(
  name = "kidney_weibull_frailty_lme4", data = "data/kidney.csv", engine = "lme4::glmer (poisson, profiled weibull shape)",
  call = sprintf(paste0("optimize over alpha of logLik(glmer(status ~ age + sex + disease + offset(alpha * log(time)) + ",
                        "(1 | patient), family = poisson, nAGQ = %d)) + sum(status * (log(alpha) - log(time))) - sum(status)  # (lme4 logLik constant, see the script)"), n_agq),
  method = "ML: weibull PH with gaussian frailty = poisson GLMM for fixed shape; frailty integrated out by lme4's adaptive Gauss-Hermite quadrature, shape profiled",
  family = "weibull", n_obs = nrow(kd), n_events = sum(kd$status), n_groups = length(unique(kd$patient)),
  fixed_effects = lapply(seq_along(beta), function(j) list(
    term_r = names(beta)[j], term = terms_hb[j], estimate = unname(b_aft[j]),
    ml_ghq_estimate = unname(ml_fe[terms_hb[j]]), difference_from_ml_ghq = unname(b_aft[j] - ml_fe[terms_hb[j]]))),
  scale = scale, log_scale = log(scale), log_scale_se_profile = 1 / sqrt(-d2),
  group_effects = list(list(group = "patient", term = "(Intercept)", sd = sd_aft, variance = sd_aft^2,
                            ml_ghq_sd = ml$group_effects[[1]]$sd)),
  logLik = ll, glmer_logLik = as.numeric(logLik(fit)), ml_ghq_logLik = ml$logLik,
  ph = list(note = "the glmer fit itself: log-hazard coefficients, SEs conditional on the shape, frailty sd on the log-hazard scale",
            shape = alpha,
            coefficients = lapply(seq_along(beta), function(j) list(term_r = names(beta)[j], estimate = unname(beta[j]),
                                                                    se_given_shape = unname(se_cond[j]))),
            frailty_sd = s_ph),
  derived = list(brms = list(shape = alpha, Intercept = unname(b_aft[1] + lgamma(1 + scale)))),
  parameterisation = "AFT as kidney_weibull_frailty: b = -beta / shape, scale = 1 / shape, sd (log time) = frailty_sd (log hazard) / shape",
  checks = checks,
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4"))))
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
           file.path(out_dir, "refs", "kidney_weibull_frailty_lme4.json"))
cat(sprintf("shape %.6f  logLik %.6f (ml_ghq %.6f)  sd %.6f (ml_ghq %.6f)\n", alpha, ll, ml$logLik, sd_aft,
            ml$group_effects[[1]]$sd))
print(cbind(lme4 = b_aft, ml_ghq = ml_fe[terms_hb]))
print(checks)
