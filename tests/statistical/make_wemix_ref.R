# Reference for tests/statistical/test_weights_pisa.py: WeMix's multilevel pseudo-maximum
# likelihood (Rabe-Hesketh & Skrondal 2006) on PISA 2000 (USA) with sampling weights at both
# levels, as in Stata's manual example
#   mixed isei female high_school college one_for both_for test_lang
#       [pw=w_fstuwt] || id_school:, pweight(wnrschbw) pwscale(size)
# and its logit counterpart for pass_read (melogit-style, 13-point adaptive quadrature).
#
# Data: tests/data/pisa2000.csv is Stata's pisa2000.dta (2069 students, 148 schools; from
# Rabe-Hesketh & Skrondal 2006) as shipped in the R package svylme (data/pisa.rda, GPL),
# written with write.csv after dropping the Stata labels.
#
# WeMix 4.0.4 is not in Debian; it was installed from its GitHub sources (pure R) into a
# private library, with its DESCRIPTION's "Matrix (>= 1.5-4.1)" lowered to the installed 1.5-3:
#   R CMD INSTALL --no-build-vignettes -l /tmp/survey/Rlib WeMix
# Check that the install is sound: the linear fit below reproduces Stata's published output
# (stata.com/features/overview/multilevel-models-with-survey-data: female .59379, high_school
# 6.410618, college 19.39494, one_for -.9584613, both_for -.2021101, test_lang 2.519539,
# _cons 28.10788, log pseudolikelihood -1443093.9, robust se of female .8732886) to every
# printed digit; the script stops if it does not.
#
# pwscale(size): level-1 weights scaled to sum to each school's sample size (the same whether
# w_fstuwt or w_fstuwt / wnrschbw is scaled); WeMix takes them as conditional (cWeights=TRUE).
# The same two models with level-1 weights only (WeMix given a school weight of 1): there the
# pseudo-likelihood and hierbayes' pseudo-posterior have the same target.
#
# With weights at both levels the two estimators differ by design: Stata/WeMix maximise
# sum_j w_j log int prod_i p(y_ij | u)^(w_i|j) p(u) du, hierbayes' pseudo-posterior (Savitsky &
# Williams) integrates prod_i p(y_ij | u)^(w_i|j w_j) p(u)^(w_j) over u. For the linear model
# the second has a closed form; its maximum is computed at the end with our own code (not an
# established package; the same code with the first target reproduces WeMix and Stata).
# Run: Rscript tests/statistical/make_wemix_ref.R   (a few minutes)
suppressMessages({library(WeMix, lib.loc = "/tmp/survey/Rlib"); library(jsonlite)})
d <- read.csv("tests/data/pisa2000.csv")
n_j <- ave(d$w_fstuwt, d$id_school, FUN = length)
d$w1_size <- d$w_fstuwt * n_j / ave(d$w_fstuwt, d$id_school, FUN = sum)
weights <- c("w1_size", "wnrschbw")
covariates <- "female + high_school + college + one_for + both_for + test_lang"

summarise <- function(m, call, seconds) {
  vc <- m$varDF
  Filter(Negate(is.null), list(
    engine = paste("WeMix", packageVersion("WeMix"), "on R", getRversion()),
    call = call, n_obs = nrow(d), n_groups = length(unique(d$id_school)),
    fixed = as.list(m$coef), fixed_se_robust = as.list(m$SE),
    sd_school = sqrt(vc$vcov[vc$grp == "id_school"]),
    sigma = if (any(vc$grp == "Residual")) sqrt(vc$vcov[vc$grp == "Residual"]) else NULL,
    log_pseudolikelihood = m$lnl, wall_time_s = seconds
  ))
}

call <- paste0("mix(isei ~ ", covariates, " + (1|id_school), data = d, weights = c('w1_size', 'wnrschbw'), ",
               "cWeights = TRUE)")
t0 <- proc.time()[["elapsed"]]
m <- mix(as.formula(paste("isei ~", covariates, "+ (1|id_school)")), data = d, weights = weights, cWeights = TRUE)
isei <- summarise(m, call, proc.time()[["elapsed"]] - t0)
stata <- c("(Intercept)" = 28.10788, female = .59379, high_school = 6.410618, college = 19.39494,
           one_for = -.9584613, both_for = -.2021101, test_lang = 2.519539)
stopifnot(max(abs(m$coef[names(stata)] - stata) / pmax(1, abs(stata))) < 1e-5,
          abs(m$lnl - (-1443093.9)) < 0.1, abs(m$SE[["female"]] - .8732886) < 1e-5)
isei$stata_published <- list(fixed = as.list(stata), log_pseudolikelihood = -1443093.9)
write(toJSON(isei, auto_unbox = TRUE, digits = 10, pretty = TRUE), "tests/refs/wemix/pisa2000_isei.json")

call <- paste0("mix(pass_read ~ isei + ", covariates, " + (1|id_school), data = d, ",
               "weights = c('w1_size', 'wnrschbw'), cWeights = TRUE, family = binomial(link = 'logit'), nQuad = 13)")
t0 <- proc.time()[["elapsed"]]
m <- mix(as.formula(paste("pass_read ~ isei +", covariates, "+ (1|id_school)")), data = d, weights = weights,
         cWeights = TRUE, family = binomial(link = "logit"), nQuad = 13)
write(toJSON(summarise(m, call, proc.time()[["elapsed"]] - t0), auto_unbox = TRUE, digits = 10, pretty = TRUE),
      "tests/refs/wemix/pisa2000_pass_read.json")

# Level-1 weights only (school weight 1).
d$one <- 1
for (what in c("isei", "pass_read")) {
  rhs <- if (what == "isei") covariates else paste("isei +", covariates)
  family_arg <- if (what == "isei") "" else ", family = binomial(link = 'logit'), nQuad = 13"
  call <- paste0("mix(", what, " ~ ", rhs, " + (1|id_school), data = d, weights = c('w1_size', 'one'), ",
                 "cWeights = TRUE", family_arg, ")")
  t0 <- proc.time()[["elapsed"]]
  m <- eval(parse(text = call))
  out <- summarise(m, call, proc.time()[["elapsed"]] - t0)
  write(toJSON(out, auto_unbox = TRUE, digits = 10, pretty = TRUE),
        paste0("tests/refs/wemix/pisa2000_", what, "_level1.json"))
}

# Our own code: the maximum of the linear model's pseudo-likelihood under each weighting, with
# the school weights scaled to mean 1 as hierbayes does (the PML maximum does not depend on it).
X <- model.matrix(as.formula(paste("~", covariates)), d)
g <- factor(d$id_school)
w2 <- tapply(d$wnrschbw, g, `[`, 1)
w2 <- w2 * length(w2) / sum(w2)
group_loglik <- function(par, joint) {
  p <- ncol(X)
  s2 <- exp(2 * par[p + 1]); t2 <- exp(2 * par[p + 2])
  r <- as.numeric(d$isei - X %*% par[1:p])
  a <- d$w1_size * if (joint) as.numeric(w2[g]) else 1
  prior_w <- if (joint) w2 else 1
  Sa <- tapply(a, g, sum); Sr <- tapply(a * r, g, sum); Srr <- tapply(a * r^2, g, sum)
  A <- Sa / s2 + prior_w / t2
  lj <- -0.5 * Sa * log(2 * pi * s2) - 0.5 * prior_w * log(2 * pi * t2) - 0.5 * Srr / s2 +
    Sr^2 / (2 * s2^2 * A) + 0.5 * log(2 * pi / A)
  if (joint) sum(lj) else sum(w2 * lj)
}
start <- c(qr.solve(X, d$isei), log(14), log(5))
own <- list(method = paste("optim BFGS on the closed-form integrated pseudo-likelihood (tests/statistical/make_wemix_ref.R)"))
for (joint in c(FALSE, TRUE)) {
  o <- optim(start, group_loglik, joint = joint, method = "BFGS",
             control = list(fnscale = -1, maxit = 5000, reltol = 1e-14))
  p <- ncol(X)
  fit <- list(fixed = as.list(setNames(o$par[1:p], colnames(X))), sigma = exp(o$par[p + 1]),
              sd_school = exp(o$par[p + 2]), converged = o$convergence == 0)
  if (joint) own$savitsky_williams <- fit else own$pml <- fit
}
stopifnot(abs(own$pml$sd_school - isei$sd_school) < 1e-3, abs(own$pml$fixed[["college"]] - isei$fixed[["college"]]) < 1e-3)
write(toJSON(own, auto_unbox = TRUE, digits = 10, pretty = TRUE), "tests/refs/wemix/pisa2000_isei_own.json")
