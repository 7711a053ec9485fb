# Reference fits for R-side (residual) structures and heteroskedastic residuals (issue 15).
#
# Five REML fits by nlme on nlme's own example data. Each writes the data as the model uses it
# (tests/rside/data/<name>.csv; grouping and factor columns as character, so R's factor levels
# are the sorted labels, listed in data/factors.json) and the reference (tests/rside/refs/<name>.json).
#
#   ovary_ar1               Ovary (nlme): follicles ~ sin(2 pi Time) + cos(2 pi Time) (columns s, c),
#                           random intercept per Mare, AR(1) residuals within Mare over t (the
#                           observation's index within its mare, 1, 2, ...).
#                           lme(..., correlation = corAR1(form = ~ t | Mare)).  structure: phi.
#   orthodont_varident      Orthodont (nlme): distance ~ age * Sex, random intercept per Subject,
#                           residual sd by Sex: lme(..., weights = varIdent(form = ~ 1 | Sex)).
#                           structure: sd ratio Male / Female (Female, the first level, is 1) and
#                           the residual sd of each Sex.  residual_sd is Female's.
#   orthodont_unstructured  Orthodont: distance ~ age * Sex without random effects, an unstructured
#                           4 x 4 residual covariance over the visits (ages 8, 10, 12, 14 -> visit
#                           1..4) within Subject (MMRM): gls(..., correlation = corSymm(form = ~ visit
#                           | Subject), weights = varIdent(form = ~ 1 | visit)).  structure: the 6
#                           correlations, their mean, the sd ratios of visits 2..4 to visit 1, the sd
#                           and the covariance matrix by visit.  residual_sd is visit 1's sd.
#   bodyweight_exp          BodyWeight (nlme): weight ~ Time * Diet, random intercept per Rat,
#                           exponential (continuous-time) correlation in Time (days) within Rat:
#                           lme(..., correlation = corExp(form = ~ Time | Rat)); corr(d) =
#                           exp(-d / range).  structure: range, and rho = exp(-1 / range), the
#                           correlation one day apart (Stata's residuals(exponential) parameter).
#   orthodont_ar1           Orthodont: distance ~ Sex * age without random effects, AR(1) over age
#                           within Subject: gls(..., correlation = corAR1(0.5, form = ~ age | Subject)):
#                           corr = phi^|age_i - age_j|, only even lags (see its section).  structure: phi.
#
# Every reference JSON holds: call (the exact R call on the data frame `d` written to the CSV),
# method (REML), fixed_effects (term_r as R names it, term as hierbayes names it, estimate, se,
# nlme's approximate 95% interval), residual_sd, random_effects (sd per grouping factor and
# term, with interval; empty for gls), structure (the parameters above, with intervals where
# nlme gives them), nlme_struct (nlme's own coef(modelStruct, unconstrained = FALSE): the
# reStruct entry is the random-intercept variance relative to sigma^2), logLik, versions.
#
# First made by /work/shared/refs/rside/ref_nlme.R (same models, same data; this script writes
# the same CSVs byte for byte and the same numbers, in the layout of tests/classic).
#
# Run from the repository root:  Rscript tests/rside/make_refs.R   (R 4.2, nlme 3.1, jsonlite)
suppressMessages({library(nlme); library(jsonlite)})

out_dir <- file.path("tests", "rside")
stopifnot(dir.exists(out_dir))
versions <- list(R = R.version.string, nlme = as.character(packageVersion("nlme")))
factors <- list()

# hierbayes' name of one R coefficient name: "SexMale" -> "Sex[Male]", "(Intercept)" -> "Intercept".
hb_term <- function(term, data) {
  if (term == "(Intercept)") return("Intercept")
  parts <- strsplit(term, ":", fixed = TRUE)[[1]]
  for (i in seq_along(parts)) for (col in names(data)) {
    if (is.character(data[[col]]) && startsWith(parts[i], col)) {
      lev <- substring(parts[i], nchar(col) + 1)
      if (lev %in% data[[col]]) { parts[i] <- sprintf("%s[%s]", col, lev); break }
    }
  }
  paste(parts, collapse = ":")
}

ci_row <- function(m, name) {
  if (is.null(m) || !(name %in% rownames(m))) return(NULL)
  list(lower95 = unname(m[name, "lower"]), upper95 = unname(m[name, "upper"]))
}

save_ref <- function(name, call, data, fit, structure, group = NULL) {
  write.csv(data, file.path(out_dir, "data", paste0(name, ".csv")), row.names = FALSE)
  fl <- list()
  for (col in names(data)) if (is.character(data[[col]]))
    fl[[col]] <- list(levels = sort(unique(data[[col]])), ordered = FALSE)
  factors[[name]] <<- fl
  iv <- tryCatch(intervals(fit, which = "all"), error = function(e) NULL)
  fe <- if (inherits(fit, "gls")) coef(fit) else fixef(fit)
  se <- sqrt(diag(vcov(fit)))
  fixed <- lapply(names(fe), function(t) c(list(term_r = t, term = hb_term(t, data),
                                              estimate = unname(fe[t]), se = unname(se[t])),
                                         ci_row(if (inherits(fit, "gls")) iv$coef else iv$fixed, t)))
  re <- list()
  if (!is.null(group)) {
    ci <- iv$reStruct[[group]]
    # getVarCov, not VarCorr (VarCorr gives rounded strings)
    re <- list(c(list(group = group, term = "(Intercept)", sd = sqrt(unname(getVarCov(fit)[1, 1]))),
                 ci_row(ci, "sd((Intercept))")))
  }
  sig_ci <- if (!is.null(iv$sigma)) list(lower95 = unname(iv$sigma["lower"]), upper95 = unname(iv$sigma["upper"])) else NULL
  ref <- list(name = name, engine = "nlme", call = call, method = "REML", n_obs = nrow(data),
              n_groups = if (is.null(group)) length(unique(data$Subject)) else length(unique(data[[group]])),
              fixed_effects = fixed, residual_sd = fit$sigma, residual_sd_ci = sig_ci,
              random_effects = re, structure = structure,
              nlme_struct = as.list(coef(fit$modelStruct, unconstrained = FALSE)),
              logLik = as.numeric(logLik(fit)), versions = versions)
  writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
             file.path(out_dir, "refs", paste0(name, ".json")))
  cat(sprintf("%-24s %s\n", name, call))
  invisible(iv)
}

fit_call <- function(call, d) eval(parse(text = call), list(d = d))

## ------------------------------------------------------------ Ovary: random intercept + AR(1)
ov <- as.data.frame(Ovary); ov$Mare <- as.character(ov$Mare)
ov$t <- ave(seq_len(nrow(ov)), ov$Mare, FUN = seq_along)
ov$s <- sin(2 * pi * ov$Time); ov$c <- cos(2 * pi * ov$Time)
call <- "lme(follicles ~ s + c, data = d, random = ~ 1 | Mare, correlation = corAR1(form = ~ t | Mare))"
f1 <- fit_call(call, ov)
iv <- tryCatch(intervals(f1), error = function(e) NULL)
save_ref("ovary_ar1", call, ov, f1, group = "Mare", structure = c(
  list(kind = "ar1", time = "t", group = "Mare",
       phi = unname(coef(f1$modelStruct$corStruct, unconstrained = FALSE))),
  list(phi_ci = ci_row(iv$corStruct, "Phi"))))

## ------------------------------------------------------------ Orthodont: residual sd by Sex
od <- as.data.frame(Orthodont); od$Subject <- as.character(od$Subject); od$Sex <- as.character(od$Sex)
call <- "lme(distance ~ age * Sex, data = d, random = ~ 1 | Subject, weights = varIdent(form = ~ 1 | Sex))"
f2 <- fit_call(call, od)
ratio <- coef(f2$modelStruct$varStruct, unconstrained = FALSE, allCoef = TRUE)
iv <- intervals(f2)
save_ref("orthodont_varident", call, od, f2, group = "Subject", structure = list(
  kind = "varident", by = "Sex", reference_level = names(ratio)[ratio == 1][1],
  sd_ratio = as.list(ratio), sd_ratio_ci = list(Male = ci_row(iv$varStruct, "Male")),
  residual_sd_by_level = as.list(f2$sigma * ratio)))

## ------------------------------------------------------------ Orthodont: unstructured over 4 visits (MMRM)
od$visit <- match(od$age, sort(unique(od$age)))
call <- "gls(distance ~ age * Sex, data = d, correlation = corSymm(form = ~ visit | Subject), weights = varIdent(form = ~ 1 | visit))"
f3 <- fit_call(call, od)
cm <- corMatrix(f3$modelStruct$corStruct)[[1]]
ratio <- coef(f3$modelStruct$varStruct, unconstrained = FALSE, allCoef = TRUE)
iv <- intervals(f3)
pairs <- list()
for (i in 1:3) for (j in (i + 1):4) {
  nm <- sprintf("cor(%d,%d)", i, j)
  pairs[[length(pairs) + 1]] <- c(list(visit1 = i, visit2 = j, corr = cm[i, j]), ci_row(iv$corStruct, nm))
}
sds <- f3$sigma * ratio
save_ref("orthodont_unstructured", call, od, f3, group = NULL, structure = list(
  kind = "unstructured", time = "visit", group = "Subject", visits_age = sort(unique(od$age)),
  correlations = pairs, mean_correlation = mean(cm[upper.tri(cm)]),
  correlation_matrix = unname(cm),
  sd_ratio = as.list(ratio), sd_ratio_ci = lapply(setNames(nm = names(ratio)[-1]), function(v) ci_row(iv$varStruct, v)),
  sd_by_visit = unname(sds), covariance_matrix = unname(cm * outer(sds, sds))))

## ------------------------------------------------------------ BodyWeight: random intercept + exponential in Time
bw <- as.data.frame(BodyWeight); bw$Rat <- as.character(bw$Rat); bw$Diet <- as.character(bw$Diet)
call <- "lme(weight ~ Time * Diet, data = d, random = ~ 1 | Rat, correlation = corExp(form = ~ Time | Rat))"
f4 <- fit_call(call, bw)
rng <- unname(coef(f4$modelStruct$corStruct, unconstrained = FALSE))
iv <- tryCatch(intervals(f4), error = function(e) NULL)
rci <- ci_row(iv$corStruct, "range")
save_ref("bodyweight_exp", call, bw, f4, group = "Rat", structure = list(
  kind = "exponential", time = "Time", group = "Rat", range = rng, range_ci = rci,
  rho_per_time_unit = exp(-1 / rng),
  rho_per_time_unit_ci = if (is.null(rci)) NULL else list(lower95 = exp(-1 / rci$lower95), upper95 = exp(-1 / rci$upper95)),
  correlation_meaning = "corr(|t_i - t_j| = d) = exp(-d / range) = rho_per_time_unit^d; Time in days"))

## ------------------------------------------------------------ Orthodont: AR(1) over age (gaps of 2 years)
# corAR1 over a covariate whose within-group steps are not 1 becomes nlme's corARMA(p = 1), whose
# correlation at lag d = |age_i - age_j| is Phi^d. Ages 8, 10, 12, 14 give only even lags, so the
# likelihood is the same at Phi and -Phi: from its default start (Phi = 0, a stationary point)
# nlme stays at 0 and reports the independence fit. The reference starts at 0.5 (from -0.5 nlme
# reports -0.790, the same fit); the pasted call's result is kept under `default_start`.
oa <- as.data.frame(Orthodont); oa$Subject <- as.character(oa$Subject); oa$Sex <- as.character(oa$Sex)
pasted <- "gls(distance ~ Sex * age, data = d, correlation = corAR1(form = ~ age | Subject))"
f5d <- fit_call(pasted, oa)
f5m <- fit_call("gls(distance ~ Sex * age, data = d, correlation = corAR1(-0.5, form = ~ age | Subject))", oa)
call <- "gls(distance ~ Sex * age, data = d, correlation = corAR1(0.5, form = ~ age | Subject))"
f5 <- fit_call(call, oa)
iv <- intervals(f5)
save_ref("orthodont_ar1", call, oa, f5, group = NULL, structure = list(
  kind = "ar1", time = "age", group = "Subject",
  phi = unname(coef(f5$modelStruct$corStruct, unconstrained = FALSE)), phi_ci = ci_row(iv$corStruct, "Phi1"),
  correlation_meaning = "corr(|age_i - age_j| = d) = phi^d (nlme's corARMA(p = 1) on the covariate); every d is even",
  start_minus = list(start = -0.5, phi = unname(coef(f5m$modelStruct$corStruct, unconstrained = FALSE)),
                     logLik = as.numeric(logLik(f5m))),
  default_start = list(call = pasted, phi = unname(coef(f5d$modelStruct$corStruct, unconstrained = FALSE)),
                       logLik = as.numeric(logLik(f5d)))))

writeLines(toJSON(factors, auto_unbox = TRUE, pretty = TRUE), file.path(out_dir, "data", "factors.json"))
