# Reference fits for censored, truncated and survival outcomes with group effects (issue 16).
#
# Run from the repository root:  Rscript tests/survival/make_refs.R
# (R 4.2 with survival 3.5, lme4, carData, jsonlite; about a minute). Writes tests/survival/data/*.csv,
# data/factors.json (factor levels in R's order: the first is the reference level) and
# tests/survival/refs/*.json. README.md beside this file lists every reference.
#
# Engines
# - survival::survreg (ML): the models without group effects (established).
# - survival::coxph with a gaussian frailty (penalised partial likelihood, REML for the frailty
#   variance): kidney's documented Cox frailty model, an established cross-check on the hazard scale.
# - ml_ghq() below, for every model with a random intercept (frailty) on the log-time (AFT) scale or
#   on a censored gaussian: survreg itself refuses frailty terms (survival >= 3.5: "survreg does not
#   support frailty terms"; the old code integrated the Cox density, which is the wrong one), and
#   glmmTMB 1.1.5 has neither censoring nor weibull / lognormal families. ml_ghq maximises the
#   marginal likelihood with the random intercept integrated out by Gauss-Hermite quadrature (what
#   Stata's metobit / meintreg / mestreg report, by adaptive quadrature): estimates, SEs from the
#   numerical Hessian of (beta, log sigma, log sd). The script checks it before use: with the frailty
#   sd near 0 it gives survreg's log-likelihood; on uncensored gaussian data it gives lmer's ML fit;
#   doubling the nodes does not move the maximum. The checks are stored in each JSON ("checks").
suppressMessages({library(survival); library(lme4); library(jsonlite)})

out_dir <- file.path("tests", "survival")
stopifnot(dir.exists(out_dir))
versions <- list(R = R.version.string)
for (p in c("survival", "lme4", "carData", "jsonlite")) versions[[p]] <- as.character(packageVersion(p))
factors <- list()

# hierbayes' name of one R coefficient name: "sexfemale" -> "sex[female]", "(Intercept)" -> "Intercept".
hb_term <- function(term, data) {
  if (term == "(Intercept)") return("Intercept")
  parts <- strsplit(term, ":", fixed = TRUE)[[1]]
  for (i in seq_along(parts)) for (col in names(data)) {
    if (is.factor(data[[col]]) && startsWith(parts[i], col)) {
      lev <- substring(parts[i], nchar(col) + 1)
      if (lev %in% levels(data[[col]])) { parts[i] <- sprintf("%s[%s]", col, lev); break }
    }
  }
  paste(parts, collapse = ":")
}

write_data <- function(name, data) {
  write.csv(data, file.path(out_dir, "data", paste0(name, ".csv")), row.names = FALSE, na = "")
  fl <- structure(list(), names = character(0))
  for (col in names(data)) if (is.factor(data[[col]]))
    fl[[col]] <- list(levels = levels(data[[col]]), ordered = is.ordered(data[[col]]))
  factors[[name]] <<- fl
}

fixed_list <- function(est, se, data) lapply(names(est), function(t) list(
  term_r = t, term = hb_term(t, data), estimate = unname(est[t]), se = unname(se[t])))

save_ref <- function(name, ref) {
  ref$versions <- versions
  writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
             file.path(out_dir, "refs", paste0(name, ".json")))
  cat(sprintf("%-28s %s\n", name, ref$call))
}

## ------------------------------------------------------------------ marginal ML by quadrature
# Outcome on the model's scale: log(time) for weibull / lognormal (AFT), y itself for gaussian.
# Rows: lo, hi on that scale; kind "exact" (lo = hi = value), "right" (> lo), "left" (< hi),
# "interval" (lo < value < hi).  eta = X beta + u[group], u ~ N(0, sd^2);  z = (value - eta) / sigma.
# weibull: z is standard minimum extreme value; lognormal and gaussian: z is standard normal.
# The log-likelihood is on the scale of the data as given: time for weibull / lognormal (it includes
# -log(time) for exact rows, as survreg's does), y for gaussian.
std_dist <- function(dist) switch(dist,
  weibull = list(logf = function(z) z - exp(z), logS = function(z) -exp(z),
                 logF = function(z) log(-expm1(-exp(z)))),
  lognormal = , gaussian = list(logf = function(z) dnorm(z, log = TRUE),
                                logS = function(z) pnorm(z, lower.tail = FALSE, log.p = TRUE),
                                logF = function(z) pnorm(z, log.p = TRUE)))

row_loglik <- function(eta, sigma, rows, dist) {
  d <- std_dist(dist)
  out <- matrix(0, nrow(eta), ncol(eta))
  z_lo <- (rows$lo - eta) / sigma; z_hi <- (rows$hi - eta) / sigma
  ex <- rows$kind == "exact"; ri <- rows$kind == "right"; le <- rows$kind == "left"; iv <- rows$kind == "interval"
  jac <- if (dist == "gaussian") numeric(nrow(rows)) else rows$lo   # -log(time) for exact times
  out[ex, ] <- d$logf(z_lo[ex, , drop = FALSE]) - log(sigma) - jac[ex]
  out[ri, ] <- d$logS(z_lo[ri, , drop = FALSE])
  out[le, ] <- d$logF(z_hi[le, , drop = FALSE])
  if (any(iv)) {  # log(F(hi) - F(lo)) = log F(hi) + log1p(-exp(log F(lo) - log F(hi)))
    a <- d$logF(z_hi[iv, , drop = FALSE]); b <- d$logF(z_lo[iv, , drop = FALSE])
    out[iv, ] <- a + log1p(-exp(b - a))
  }
  out
}

gh_rule <- function(n) {  # Golub-Welsch: nodes and weights for the integral of f(x) N(x; 0, 1)
  J <- matrix(0, n, n); off <- sqrt(seq_len(n - 1))
  J[cbind(1:(n - 1), 2:n)] <- off; J[cbind(2:n, 1:(n - 1))] <- off
  e <- eigen(J, symmetric = TRUE)
  list(x = e$values, w = e$vectors[1, ]^2)
}

# Adaptive quadrature: per group, the integrand exp(h(u)), h(u) = sum of its rows' log-likelihoods
# + log N(u; 0, sd^2), is centred at its mode and scaled by its curvature (Newton steps, all groups at
# once) before the Gauss-Hermite rule is applied.
group_h <- function(u, eta0, sigma, sd_u, rows, group, dist)
  drop(rowsum(row_loglik(matrix(eta0 + u[group]), sigma, rows, dist), group)) + dnorm(u, 0, sd_u, log = TRUE)

marginal_loglik <- function(par, X, rows, group, dist, rule) {
  p <- ncol(X)
  beta <- par[1:p]; sigma <- exp(par[p + 1]); sd_u <- exp(par[p + 2])
  eta0 <- drop(X %*% beta)
  group <- as.integer(factor(group))   # 1..G, the row order of rowsum()
  G <- max(group); u <- numeric(G); e <- 1e-4 * sd_u
  for (it in 1:50) {
    h0 <- group_h(u, eta0, sigma, sd_u, rows, group, dist)
    hp <- group_h(u + e, eta0, sigma, sd_u, rows, group, dist)
    hm <- group_h(u - e, eta0, sigma, sd_u, rows, group, dist)
    curv <- (hp - 2 * h0 + hm) / e^2
    step <- -((hp - hm) / (2 * e)) / pmin(curv, -1e-12)
    u <- u + step
    if (max(abs(step)) < 1e-10 * sd_u) break
  }
  h0 <- group_h(u, eta0, sigma, sd_u, rows, group, dist)
  hp <- group_h(u + e, eta0, sigma, sd_u, rows, group, dist)
  hm <- group_h(u - e, eta0, sigma, sd_u, rows, group, dist)
  s <- 1 / sqrt(pmax(-(hp - 2 * h0 + hm) / e^2, 1e-12))
  nodes <- outer(u, rep(1, length(rule$x))) + outer(s, rule$x)      # G x Q
  ll <- rowsum(row_loglik(eta0 + nodes[group, , drop = FALSE], sigma, rows, dist), group) +
    dnorm(nodes, 0, sd_u, log = TRUE)
  ll <- ll + outer(rep(1, G), log(rule$w) - dnorm(rule$x, log = TRUE))
  m <- apply(ll, 1, max)
  sum(m + log(rowSums(exp(ll - m))) + log(s))
}

ml_ghq <- function(formula, data, rows, group, dist, start, n_nodes = 20) {
  X <- model.matrix(formula, data)
  p <- ncol(X)
  rule <- gh_rule(n_nodes)
  f <- function(par) -marginal_loglik(par, X, rows, group, dist, rule)
  opt <- nlminb(start, f, control = list(eval.max = 5000, iter.max = 2000, rel.tol = 1e-14))
  if (opt$par[p + 2] < log(1e-3))   # the frailty sd's maximum is at 0: the ML fit is the model without it
    return(list(boundary = TRUE, par = opt$par, logLik = -opt$objective, nlminb_message = opt$message))
  par <- opt$par
  for (it in 1:10) {  # Newton polish with central-difference derivatives
    step <- solve(optimHess(par, f), numDeriv_grad(f, par))
    par <- par - step
    if (max(abs(step)) < 1e-9) break
  }
  H <- optimHess(par, f)
  V <- solve(H)
  ll <- -f(par)
  ll2 <- marginal_loglik(par, X, rows, group, dist, gh_rule(2 * n_nodes))
  list(boundary = FALSE, par = par, V = V, se = sqrt(diag(V)), logLik = ll, p = p, X = X,
       nlminb_message = opt$message, newton_steps = it, n_nodes = n_nodes,
       logLik_2x_nodes_minus_logLik = ll2 - ll,
       max_abs_gradient = max(abs(numDeriv_grad(f, par))),
       hessian_min_eigenvalue = min(eigen(H, symmetric = TRUE, only.values = TRUE)$values))
}

# Profile log-likelihood of the frailty sd (maximised over the other parameters), relative to the ML.
profile_sd <- function(formula, data, rows, group, dist, start, sds, logLik_max, n_nodes = 20) {
  X <- model.matrix(formula, data); rule <- gh_rule(n_nodes); p <- ncol(X)
  lapply(sds, function(sd) {
    f <- function(par) -marginal_loglik(c(par, log(sd)), X, rows, group, dist, rule)
    opt <- nlminb(start[1:(p + 1)], f, control = list(eval.max = 5000, iter.max = 2000, rel.tol = 1e-12))
    list(sd = sd, logLik_minus_max = -opt$objective - logLik_max)
  })
}

numDeriv_grad <- function(f, x, h = 1e-5) vapply(seq_along(x), function(i) {
  e <- replace(numeric(length(x)), i, h); (f(x + e) - f(x - e)) / (2 * h) }, 0)

ghq_ref <- function(fit, data, group_name, n_groups, extra_terms = NULL) {
  p <- fit$p
  beta <- setNames(fit$par[1:p], colnames(fit$X)); se <- setNames(fit$se[1:p], colnames(fit$X))
  ls <- fit$par[p + 1]; lsd <- fit$par[p + 2]
  list(fixed_effects = fixed_list(beta, se, data),
       scale = exp(ls), log_scale = ls, log_scale_se = fit$se[p + 1],
       group_effects = list(list(group = group_name, term = "(Intercept)", sd = exp(lsd),
                                 log_sd = lsd, log_sd_se = fit$se[p + 2],
                                 sd_ci95 = exp(lsd + c(-1, 1) * qnorm(0.975) * fit$se[p + 2]),
                                 variance = exp(2 * lsd))),
       n_groups = n_groups, logLik = fit$logLik,
       vcov_order = c(colnames(fit$X), "log(scale)", "log(sd)"), vcov = unname(fit$V))
}

ghq_checks <- function(fit) list(
  quadrature_nodes = fit$n_nodes,
  logLik_at_2x_nodes_minus_logLik = fit$logLik_2x_nodes_minus_logLik,
  nlminb_message = fit$nlminb_message, newton_polish_steps = fit$newton_steps,
  max_abs_gradient = fit$max_abs_gradient, hessian_min_eigenvalue = fit$hessian_min_eigenvalue)

# survreg's rows as ml_ghq rows: Surv(time, status) right-censored data on the log-time scale
surv_rows <- function(time, status) data.frame(lo = log(time), hi = ifelse(status == 1, log(time), NA),
                                               kind = ifelse(status == 1, "exact", "right"))

survreg_part <- function(fit, data) {
  co <- coef(fit); V <- vcov(fit); se <- sqrt(diag(V))[names(co)]
  list(fixed_effects = fixed_list(co, se, data), scale = fit$scale,
       log_scale = log(fit$scale), log_scale_se = sqrt(V["Log(scale)", "Log(scale)"]),
       logLik = as.numeric(logLik(fit)), vcov_order = rownames(V), vcov = unname(V))
}

# Validation of the quadrature code before any use: on the uncensored gaussian random-intercept model
# it must give lmer's ML fit (REML = FALSE).
validate_against_lmer <- function(d) {
  fit_l <- lmer(y_latent ~ x + (1 | g), data = d, REML = FALSE)
  rows <- data.frame(lo = d$y_latent, hi = d$y_latent, kind = "exact")
  fit_q <- ml_ghq(~ x, d, rows, d$g, "gaussian", start = c(0, 0, 0, 0))
  vc <- as.data.frame(VarCorr(fit_l))
  par_l <- c(fixef(fit_l), log(sigma(fit_l)), log(as.data.frame(VarCorr(fit_l))$sdcor[1]))
  out <- list(ghq_logLik_at_lmer_estimates = marginal_loglik(par_l, model.matrix(~ x, d), rows, d$g, "gaussian", gh_rule(20)),
              lmer_logLik = as.numeric(logLik(fit_l)), ghq_logLik = fit_q$logLik,
              lmer_fixef = unname(fixef(fit_l)), ghq_fixef = fit_q$par[1:2],
              lmer_fixef_se = unname(sqrt(diag(as.matrix(vcov(fit_l))))), ghq_fixef_se = fit_q$se[1:2],
              lmer_sd_group = vc$sdcor[1], ghq_sd_group = exp(fit_q$par[4]),
              lmer_sigma = sigma(fit_l), ghq_sigma = exp(fit_q$par[3]))
  stopifnot(abs(out$lmer_logLik - out$ghq_logLik_at_lmer_estimates) < 1e-6,
            abs(out$lmer_logLik - out$ghq_logLik) < 1e-6,
            max(abs(out$lmer_fixef - out$ghq_fixef)) < 1e-4,
            max(abs(out$lmer_fixef_se / out$ghq_fixef_se - 1)) < 1e-3,
            abs(out$lmer_sd_group / out$ghq_sd_group - 1) < 1e-4)
  out
}

# With the frailty sd at exp(-30) the quadrature likelihood at survreg's estimates must be survreg's.
check_vs_survreg <- function(sfit, X, rows, group, dist) {
  par <- c(coef(sfit), log(sfit$scale), -30)
  ll <- marginal_loglik(par, X, rows, group, dist, gh_rule(20))
  d <- ll - as.numeric(logLik(sfit))
  stopifnot(abs(d) < 1e-8)
  list(survreg_logLik = as.numeric(logLik(sfit)), ghq_logLik_at_sd_0 = ll, difference = d)
}

## ------------------------------------------------------------------ simulated interval-censored gaussian
# 60 groups of 15; y = 1 + 0.5 x + u_g + e, u ~ N(0, 0.7^2), e ~ N(0, 1). Recorded as: below -0.5
# left-censored (known only to be < -0.5), above 3 right-censored (> 3), else 30% exact and 70% in an
# interval of width 0.5 ([floor(2y)/2, floor(2y)/2 + 0.5]). Columns: lo / hi for
# Surv(lo, hi, type = "interval2") (NA = unbounded); brms' y | cens(cens, y2): y is the lower bound
# (left: the upper limit), y2 the upper bound of interval rows; cens_code -1 left, 0 none, 1 right,
# 2 interval; y_latent is the uncensored value (for checks only).
set.seed(20261202)
G <- 60; m <- 15
g <- rep(sprintf("g%02d", 1:G), each = m)
x <- round(rnorm(G * m), 4)
u <- rnorm(G, 0, 0.7)
y_latent <- round(1 + 0.5 * x + rep(u, each = m) + rnorm(G * m), 4)
exact <- runif(G * m) < 0.3
cens <- ifelse(y_latent < -0.5, "left", ifelse(y_latent > 3, "right", ifelse(exact, "none", "interval")))
lo <- ifelse(cens == "left", NA, ifelse(cens == "right", 3, ifelse(cens == "none", y_latent, floor(2 * y_latent) / 2)))
hi <- ifelse(cens == "right", NA, ifelse(cens == "left", -0.5, ifelse(cens == "none", y_latent, floor(2 * y_latent) / 2 + 0.5)))
ic <- data.frame(g = g, x = x, lo = lo, hi = hi, cens = cens,
                 cens_code = c(left = -1L, none = 0L, right = 1L, interval = 2L)[cens],
                 y = ifelse(cens == "left", hi, lo), y2 = ifelse(cens == "interval", hi, NA),
                 y_latent = y_latent)
write_data("interval_sim", ic)
lmer_check <- validate_against_lmer(ic)
ic_rows <- data.frame(lo = ic$lo, hi = ic$hi, kind = ifelse(cens == "none", "exact", cens))
call_sr <- "survreg(Surv(lo, hi, type = \"interval2\") ~ x, data = d, dist = \"gaussian\")"
s_ic <- eval(parse(text = call_sr), list(d = ic))
chk <- check_vs_survreg(s_ic, model.matrix(~ x, ic), ic_rows, ic$g, "gaussian")
save_ref("interval_sim_nogroup", c(list(
  name = "interval_sim_nogroup", data = "data/interval_sim.csv", engine = "survival::survreg", call = call_sr,
  method = "ML", family = "gaussian", censoring = as.list(table(cens)), n_obs = nrow(ic)),
  survreg_part(s_ic, ic), list(scale_meaning = "residual sd (sigma)")))
f_ic <- ml_ghq(~ x, ic, ic_rows, ic$g, "gaussian", start = c(coef(s_ic), log(s_ic$scale), log(0.5)))
save_ref("interval_sim_frailty", c(list(
  name = "interval_sim_frailty", data = "data/interval_sim.csv", engine = "ml_ghq (make_refs.R)",
  call = "ml_ghq(~ x, d, rows(lo, hi, cens), d$g, \"gaussian\")  # y | cens(cens, y2) ~ x + (1 | g); meintreg lo hi x || g:",
  method = "ML, random intercept integrated out by 20-node adaptive Gauss-Hermite quadrature", family = "gaussian",
  censoring = as.list(table(cens)), n_obs = nrow(ic),
  truth = list(Intercept = 1, x = 0.5, sd_g = 0.7, sigma = 1, seed = 20261202)),
  ghq_ref(f_ic, ic, "g", G), list(scale_meaning = "residual sd (sigma)",
  survreg_frailty_call_refused = "survreg(Surv(lo, hi, type = \"interval2\") ~ x + frailty.gaussian(g), dist = \"gaussian\") stops: survreg does not support frailty terms",
  checks = c(ghq_checks(f_ic), list(ghq_vs_lmer_on_y_latent = lmer_check, ghq_vs_survreg_at_sd_0 = chk)))))

## ------------------------------------------------------------------ tobit: Blackmore exercise (carData)
# Fox & Weisberg's longitudinal example: hours of exercise per week of girls with and without eating
# disorders at ages 8 to 18; 11.9% of the records are 0, read here as left-censored at 0 (tobit, as
# metobit exercise c.age8##i.group || subject:, ll(0)).  age8 = age - 8.
bl <- carData::Blackmore
bl <- data.frame(subject = as.character(bl$subject), age = bl$age, age8 = bl$age - 8,
                 exercise = bl$exercise, group = bl$group, censored = ifelse(bl$exercise <= 0, "left", "none"))
write_data("blackmore_tobit", bl)
bl_rows <- data.frame(lo = ifelse(bl$exercise > 0, bl$exercise, NA), hi = bl$exercise,
                      kind = ifelse(bl$exercise > 0, "exact", "left"))
call_sr <- "survreg(Surv(exercise, exercise > 0, type = \"left\") ~ age8 * group, data = d, dist = \"gaussian\")"
s_bl <- eval(parse(text = call_sr), list(d = bl))
chk <- check_vs_survreg(s_bl, model.matrix(~ age8 * group, bl), bl_rows, bl$subject, "gaussian")
save_ref("blackmore_tobit_nogroup", c(list(
  name = "blackmore_tobit_nogroup", data = "data/blackmore_tobit.csv", engine = "survival::survreg", call = call_sr,
  method = "ML", family = "gaussian", censoring = as.list(table(bl$censored)), n_obs = nrow(bl)),
  survreg_part(s_bl, bl), list(scale_meaning = "residual sd (sigma)")))
f_bl <- ml_ghq(~ age8 * group, bl, bl_rows, bl$subject, "gaussian",
               start = c(coef(s_bl), log(s_bl$scale), log(1)))
save_ref("blackmore_tobit_frailty", c(list(
  name = "blackmore_tobit_frailty", data = "data/blackmore_tobit.csv", engine = "ml_ghq (make_refs.R)",
  call = "ml_ghq(~ age8 * group, d, rows(exercise, left at 0), d$subject, \"gaussian\")  # exercise | cens(censored) ~ age8 * group + (1 | subject)",
  method = "ML, random intercept integrated out by 20-node adaptive Gauss-Hermite quadrature", family = "gaussian",
  censoring = as.list(table(bl$censored)), n_obs = nrow(bl)),
  ghq_ref(f_bl, bl, "subject", length(unique(bl$subject))), list(scale_meaning = "residual sd (sigma)",
  checks = c(ghq_checks(f_bl), list(ghq_vs_survreg_at_sd_0 = chk)))))

## ------------------------------------------------------------------ simulated tobit (known truth)
# 60 groups of 15: y* = 0.5 + 1 x + u_g + e, u ~ N(0, 0.8^2), e ~ N(0, 1); y = max(y*, 0), left-censored at 0.
set.seed(20261203)
g <- rep(sprintf("g%02d", 1:G), each = m)
x <- round(rnorm(G * m), 4)
ys <- round(0.5 + x + rep(rnorm(G, 0, 0.8), each = m) + rnorm(G * m), 4)
tb <- data.frame(g = g, x = x, y = pmax(ys, 0), censored = ifelse(ys <= 0, "left", "none"), y_latent = ys)
write_data("tobit_sim", tb)
tb_rows <- data.frame(lo = ifelse(tb$y > 0, tb$y, NA), hi = tb$y, kind = ifelse(tb$y > 0, "exact", "left"))
f_tb <- ml_ghq(~ x, tb, tb_rows, tb$g, "gaussian", start = c(0, 0, 0, 0))
s_tb <- survreg(Surv(y, y > 0, type = "left") ~ x, data = tb, dist = "gaussian")
chk <- check_vs_survreg(s_tb, model.matrix(~ x, tb), tb_rows, tb$g, "gaussian")
save_ref("tobit_sim_frailty", c(list(
  name = "tobit_sim_frailty", data = "data/tobit_sim.csv", engine = "ml_ghq (make_refs.R)",
  call = "ml_ghq(~ x, d, rows(y, left at 0), d$g, \"gaussian\")  # y | cens(censored) ~ x + (1 | g); metobit y x || g:, ll(0)",
  method = "ML, random intercept integrated out by 20-node adaptive Gauss-Hermite quadrature", family = "gaussian",
  censoring = as.list(table(tb$censored)), n_obs = nrow(tb),
  truth = list(Intercept = 0.5, x = 1, sd_g = 0.8, sigma = 1, seed = 20261203)),
  ghq_ref(f_tb, tb, "g", G), list(scale_meaning = "residual sd (sigma)",
  survreg_nogroup = survreg_part(s_tb, tb)[c("fixed_effects", "scale", "logLik")],
  checks = c(ghq_checks(f_tb), list(ghq_vs_survreg_at_sd_0 = chk)))))

## ------------------------------------------------------------------ kidney (survival::kidney)
# 38 patients, 2 recurrence times each (catheter insertion to infection, days); status 1 = infection,
# 0 = censored (brms' `censored` is 1 - status). Factor labels as brms::kidney has them.
k <- survival::kidney
kd <- data.frame(time = k$time, status = k$status, censored = 1L - as.integer(k$status),
                 patient = as.integer(k$id), age = k$age,
                 sex = factor(ifelse(k$sex == 1, "male", "female"), levels = c("male", "female")),
                 disease = factor(c(Other = "other", GN = "GN", AN = "AN", PKD = "PKD")[as.character(k$disease)],
                                  levels = c("other", "GN", "AN", "PKD")))
write_data("kidney", kd)
k_rows <- surv_rows(kd$time, kd$status)
Xk <- model.matrix(~ age + sex + disease, kd)

parameterisation <- list(
  weibull = paste(
    "AFT, as survreg: log(time) = X b + u + scale * W, W standard minimum extreme value, u ~ N(0, sd^2);",
    "so time ~ Weibull(shape k = 1 / scale, scale lambda = exp(X b + u)). brms' weibull is",
    "mean-parameterised: mu = exp(eta_brms) = lambda * Gamma(1 + 1 / k), shape = k: slopes and the frailty sd",
    "are the same as here, brms' Intercept = b0 + lgamma(1 + scale) (derived.brms below).",
    "Proportional hazards (Stata mestreg's default metric, hazard ratios): log-hazard coefficients",
    "= -b / scale, frailty sd on the log-hazard scale = sd / scale (derived.ph)."),
  lognormal = paste(
    "AFT: log(time) = X b + u + scale * Z, Z ~ N(0, 1), u ~ N(0, sd^2). brms' lognormal(mu, sigma) is",
    "the same: mu = X b + u, sigma = scale; every coefficient compares directly (Stata mestreg",
    "distribution(lognormal) too)."),
  censoring = "status 1 = event (survreg, Stata's failure); brms' cens(censored): censored 1 = right-censored, 0 = event")

weibull_derived <- function(beta, V, ls, lsd = NULL, Vfull = NULL) {
  # hazard-scale coefficients -b / scale with delta-method SEs (parameters: b..., log(scale)[, log(sd)])
  sc <- exp(ls); p <- length(beta)
  ph <- -beta / sc
  J <- cbind(diag(-1 / sc, p), beta / sc)           # d(-b_j e^{-ls}) / d(b, ls)
  ph_se <- sqrt(diag(J %*% V[1:(p + 1), 1:(p + 1)] %*% t(J)))
  out <- list(brms = list(shape = 1 / sc, Intercept = unname(beta[1] + lgamma(1 + sc)),
                          note = "brms weibull: Intercept = b0 + lgamma(1 + scale), other coefficients as b, shape = 1 / scale"),
              ph = list(note = "log-hazard (PH) metric: -b / scale; hazard_ratio = exp of it; Intercept is log of the baseline hazard's scale term",
                        coefficients = lapply(seq_len(p), function(j) list(term_r = names(beta)[j],
                          estimate = unname(ph[j]), se = unname(ph_se[j]), hazard_ratio = unname(exp(ph[j]))))))
  if (!is.null(lsd)) out$ph$frailty_sd = exp(lsd) / sc
  out
}

for (dist in c("weibull", "lognormal")) {
  call_sr <- sprintf("survreg(Surv(time, status) ~ age + sex + disease, data = d, dist = \"%s\")", dist)
  s_k <- eval(parse(text = call_sr), list(d = kd))
  sp <- survreg_part(s_k, kd)
  ref <- c(list(name = paste0("kidney_", dist), data = "data/kidney.csv", engine = "survival::survreg",
                call = call_sr, method = "ML", family = dist, n_obs = nrow(kd), n_events = sum(kd$status)),
           sp, list(parameterisation = parameterisation[[dist]], censoring = parameterisation$censoring))
  if (dist == "weibull") ref$derived <- weibull_derived(coef(s_k), vcov(s_k), log(s_k$scale))
  save_ref(paste0("kidney_", dist), ref)

  chk <- check_vs_survreg(s_k, Xk, k_rows, kd$patient, dist)
  start <- c(coef(s_k), log(s_k$scale), log(0.5))
  f_k <- ml_ghq(~ age + sex + disease, kd, k_rows, kd$patient, dist, start = start)
  ref <- list(name = paste0("kidney_", dist, "_frailty"), data = "data/kidney.csv", engine = "ml_ghq (make_refs.R)",
              call = sprintf("ml_ghq(~ age + sex + disease, d, rows(time, status), d$patient, \"%s\")  # time | cens(censored) ~ age + sex + disease + (1 | patient)", dist),
              method = "ML, gaussian frailty on log-time integrated out by 20-node adaptive Gauss-Hermite quadrature",
              family = dist, n_obs = nrow(kd), n_events = sum(kd$status))
  if (f_k$boundary) {
    ll_max <- as.numeric(logLik(s_k))
    ref <- c(ref, list(boundary = paste0(
      "the ML estimate of the frailty sd is 0 (on the boundary): the ML fit is the survreg fit without ",
      "frailty (numbers below, = kidney_", dist, "); a Bayesian fit puts the sd's posterior away from 0, ",
      "so compare its fixed effects loosely and its sd with profile_logLik_sd")),
      sp[c("fixed_effects", "scale", "log_scale", "log_scale_se", "logLik")],
      list(group_effects = list(list(group = "patient", term = "(Intercept)", sd = 0, variance = 0)),
           n_groups = length(unique(kd$patient)), nlminb_log_sd = unname(f_k$par[length(f_k$par)])))
  } else {
    ll_max <- f_k$logLik
    ref <- c(ref, ghq_ref(f_k, kd, "patient", length(unique(kd$patient))))
  }
  ref <- c(ref, list(parameterisation = parameterisation[[dist]], censoring = parameterisation$censoring,
                     survreg_frailty_call_refused = sprintf("survreg(Surv(time, status) ~ age + sex + disease + frailty.gaussian(patient), dist = \"%s\") stops: survreg does not support frailty terms", dist),
                     profile_logLik_sd = profile_sd(~ age + sex + disease, kd, k_rows, kd$patient, dist, start,
                                                    c(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 1.25, 1.5), ll_max),
                     checks = c(if (!f_k$boundary) ghq_checks(f_k),
                                list(ghq_vs_survreg_at_sd_0 = chk, ghq_vs_lmer_on_interval_sim_latent = lmer_check))))
  if (dist == "weibull" && !f_k$boundary) {
    p <- f_k$p
    ref$derived <- weibull_derived(f_k$par[1:p], f_k$V, f_k$par[p + 1], f_k$par[p + 2])
  }
  save_ref(paste0("kidney_", dist, "_frailty"), ref)
}

# The documented Cox model with a gaussian frailty (survival's ?frailty / ?kidney): a semi-parametric
# cross-check on the log-hazard scale for kidney_weibull_frailty's derived.ph (not the same model:
# the baseline hazard is free here).
call_cx <- "coxph(Surv(time, status) ~ age + sex + disease + frailty(patient, distribution = \"gaussian\"), data = d)"
c_k <- eval(parse(text = call_cx), list(d = kd))
co <- coef(c_k); se <- sqrt(diag(vcov(c_k)))[seq_along(co)]
save_ref("kidney_coxph_frailty", list(
  name = "kidney_coxph_frailty", data = "data/kidney.csv", engine = "survival::coxph", call = call_cx,
  method = "penalised partial likelihood; frailty variance by REML (coxph's default for the gaussian)",
  family = "Cox proportional hazards", n_obs = nrow(kd), n_events = sum(kd$status),
  fixed_effects = fixed_list(setNames(co, names(co)), setNames(se, names(co)), kd),
  fixed_effects_scale = "log hazard ratio",
  group_effects = list(list(group = "patient", term = "(Intercept)", variance = unname(c_k$history[[1]]$theta),
                            sd = sqrt(unname(c_k$history[[1]]$theta)), scale = "log hazard"))))

## ------------------------------------------------------------------ rats (survival::rats)
# Mantel et al.'s litter-matched tumour study, survival's documented frailty example: 100 litters of 3
# rats (one treated, rx = 1), time to tumour (weeks), status 1 = tumour. survival documents it with a
# Cox frailty; here the weibull AFT with a gaussian litter frailty (Stata: `mestreg rx i.sex ||
# litter:, distribution(weibull) time` after `stset time, failure(status)`), by ml_ghq.
r <- survival::rats
rd <- data.frame(litter = as.integer(r$litter), rx = as.integer(r$rx), time = r$time, status = as.integer(r$status),
                 sex = factor(r$sex, levels = c("f", "m")))
write_data("rats", rd)
r_rows <- surv_rows(rd$time, rd$status)
s_r <- survreg(Surv(time, status) ~ rx + sex, data = rd, dist = "weibull")
chk_r <- check_vs_survreg(s_r, model.matrix(~ rx + sex, rd), r_rows, rd$litter, "weibull")
f_r <- ml_ghq(~ rx + sex, rd, r_rows, rd$litter, "weibull", start = c(coef(s_r), log(s_r$scale), log(0.2)))
stopifnot(!f_r$boundary)
ref_r <- c(list(name = "rats_weibull_frailty", data = "data/rats.csv", engine = "ml_ghq (this script)",
                call = "ml_ghq(~ rx + sex, d, rows(time, status), d$litter, \"weibull\")  # Stata: mestreg rx i.sex || litter:, distribution(weibull) time",
                method = "ML, gaussian frailty on log-time integrated out by 20-node adaptive Gauss-Hermite quadrature",
                family = "weibull", n_obs = nrow(rd), n_events = sum(rd$status)),
           ghq_ref(f_r, rd, "litter", length(unique(rd$litter))),
           list(parameterisation = parameterisation$weibull,
                survreg_nogroup = survreg_part(s_r, rd)[c("fixed_effects", "scale", "logLik")],
                checks = c(ghq_checks(f_r), list(ghq_vs_survreg_at_sd_0 = chk_r))))
ref_r$derived <- weibull_derived(f_r$par[1:f_r$p], f_r$V, f_r$par[f_r$p + 1], f_r$par[f_r$p + 2])
save_ref("rats_weibull_frailty", ref_r)

writeLines(toJSON(factors, auto_unbox = TRUE, pretty = TRUE), file.path(out_dir, "data", "factors.json"))
