# Reference fits for the classic-analysis suite (tests/classic).
#
# Writes, for every case, the data as R has it (tests/classic/data/<name>.csv: only the
# columns the model uses, factors as their labels), the factor levels in R's order
# (tests/classic/data/factors.json: levels and whether R's factor is ordered) and the
# reference fit (tests/classic/refs/<name>.json): lmer (REML), glmer (Laplace), glmmTMB (ML)
# or clmm (Laplace), with the exact R call, fixed effects (R's term name and the name
# hierbayes gives the same column), variance components and package versions.
#
# Run from the repository root:  Rscript tests/classic/make_refs.R [name ...]
# (names given: only those cases are remade, the others' files are left as they are).
# Where the Laplace approximation is no reference (guImmun), brms' posterior (NUTS, 4 x 1000
# draws, its default priors) is: posterior means and sds in place of estimates and ses.
# Binary responses stored by R as factors (N/Y, n/y) are written as 0/1 (the second level is 1,
# as glm counts it); ordinal responses are written as their labels and marked ordered in
# factors.json.
suppressPackageStartupMessages({
  library(lme4); library(nlme); library(mlmRev); library(MASS); library(glmmTMB); library(ordinal)
  library(jsonlite)
})

out_dir <- file.path("tests", "classic")
only <- commandArgs(trailingOnly = TRUE)
skip <- function(name) length(only) > 0 && !(name %in% only)
stopifnot(dir.exists(out_dir))
versions <- list(R = R.version.string)
for (p in c("lme4", "nlme", "mlmRev", "MASS", "glmmTMB", "ordinal", "Matrix"))
  versions[[p]] <- as.character(packageVersion(p))
factors <- list()

# hierbayes' name of one R coefficient name: factor dummies "SexFemale" -> "Sex[Female]" (for
# every factor column of the data), "(Intercept)" -> "Intercept"; interactions part by part.
hb_term <- function(term, data) {
  if (term == "(Intercept)") return("Intercept")
  parts <- strsplit(term, ":", fixed = TRUE)[[1]]
  for (i in seq_along(parts)) {
    for (col in names(data)) {
      if (is.factor(data[[col]]) && startsWith(parts[i], col)) {
        lev <- substring(parts[i], nchar(col) + 1)
        if (lev %in% levels(data[[col]])) { parts[i] <- sprintf("%s[%s]", col, lev); break }
      }
    }
  }
  paste(parts, collapse = ":")
}

write_data <- function(name, data) {
  data <- as.data.frame(data)
  write.csv(data, file.path(out_dir, "data", paste0(name, ".csv")), row.names = FALSE)
  fl <- list()
  for (col in names(data)) if (is.factor(data[[col]]))
    fl[[col]] <- list(levels = levels(data[[col]]), ordered = is.ordered(data[[col]]))
  factors[[name]] <<- fl
}

vc_list <- function(vc) {
  # lme4 / glmmTMB VarCorr: one entry per grouping factor with sds and correlations
  out <- list()
  for (g in names(vc)) {
    m <- vc[[g]]
    sds <- attr(m, "stddev")
    cors <- attr(m, "correlation")
    pairs <- list()
    if (length(sds) > 1) for (i in 1:(length(sds) - 1)) for (j in (i + 1):length(sds))
      pairs[[length(pairs) + 1]] <- list(term1 = names(sds)[i], term2 = names(sds)[j], corr = cors[i, j])
    out[[g]] <- list(sd = as.list(sds), corr = pairs)
  }
  out
}

save_ref <- function(name, call, engine, method, fit_data, fe, vc, extra = list(), timing) {
  fixed <- lapply(seq_len(nrow(fe)), function(i) list(
    term_r = rownames(fe)[i], term = hb_term(rownames(fe)[i], fit_data),
    estimate = unname(fe[i, 1]), se = unname(fe[i, 2])))
  ref <- c(list(name = name, engine = engine, call = call, method = method,
                n_obs = nrow(fit_data), fixed_effects = fixed, variance_components = vc),
           extra, list(wall_time_s = unname(timing[["elapsed"]]), versions = versions))
  writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
             file.path(out_dir, "refs", paste0(name, ".json")))
  cat(sprintf("%-18s %s\n", name, call))
}

run_merMod <- function(name, call, data) {
  if (skip(name)) return(invisible())
  write_data(name, data)
  d <- as.data.frame(data)
  timing <- system.time(fit <- eval(parse(text = call), list(d = d)))
  fe <- summary(fit)$coefficients[, 1:2, drop = FALSE]
  isgauss <- inherits(fit, "lmerMod")
  vc <- vc_list(VarCorr(fit))
  extra <- list(
    family = if (isgauss) "gaussian(identity)" else paste0(family(fit)$family, "(", family(fit)$link, ")"),
    n_groups = as.list(ngrps(fit)),
    residual_sd = if (isgauss) sigma(fit) else NULL,
    logLik = as.numeric(logLik(fit)), singular = isSingular(fit),
    convergence_messages = as.list(fit@optinfo$conv$lme4$messages))
  save_ref(name, call, "lme4", if (isgauss) "REML" else "ML (Laplace approximation, nAGQ=1)",
           d, fe, vc, extra, timing)
}

run_glmmTMB <- function(name, call, data) {
  if (skip(name)) return(invisible())
  write_data(name, data)
  d <- as.data.frame(data)
  timing <- system.time(fit <- eval(parse(text = call), list(d = d)))
  fe <- summary(fit)$coefficients$cond[, 1:2, drop = FALSE]
  extra <- list(family = paste0(family(fit)$family, "(", family(fit)$link, ")"),
                n_groups = as.list(sapply(ranef(fit)$cond, nrow)),
                dispersion = if (family(fit)$family == "nbinom2") sigma(fit) else NULL,
                dispersion_meaning = if (family(fit)$family == "nbinom2") "nbinom2: var = mu + mu^2 / dispersion (hierbayes' phi)" else NULL,
                logLik = as.numeric(logLik(fit)), pdHess = fit$sdr$pdHess,
                optimizer_message = fit$fit$message)
  save_ref(name, call, "glmmTMB", "ML (Laplace approximation)", d, fe, vc_list(VarCorr(fit)$cond),
           extra, timing)
}

run_clmm <- function(name, call, data) {
  if (skip(name)) return(invisible())
  write_data(name, data)
  d <- as.data.frame(data)
  timing <- system.time(fit <- eval(parse(text = call), list(d = d)))
  co <- summary(fit)$coefficients[, 1:2, drop = FALSE]
  # thresholds "1|2", "2|3", ... are hierbayes' Intercept[1], Intercept[2], ...
  k <- length(fit$alpha)
  rownames(co)[1:k] <- sprintf("Intercept[%d]", 1:k)
  vc <- list()
  for (g in names(fit$ST)) vc[[g]] <- list(sd = as.list(setNames(as.numeric(fit$ST[[g]]), "(Intercept)")), corr = list())
  extra <- list(family = paste0("cumulative(", fit$link, ")"), thresholds_r = names(fit$alpha),
                n_groups = as.list(fit$dims$nlev.re), logLik = as.numeric(logLik(fit)))
  save_ref(name, call, "ordinal", "ML (Laplace approximation)", d, co, vc, extra, timing)
}

run_brms <- function(name, call, data) {
  if (skip(name)) return(invisible())
  suppressPackageStartupMessages(library(brms))
  versions$brms <<- as.character(packageVersion("brms"))
  write_data(name, data)
  d <- as.data.frame(data)
  timing <- system.time(fit <- eval(parse(text = call), list(d = d)))
  fe <- fixef(fit)[, 1:2, drop = FALSE]
  rownames(fe)[rownames(fe) == "Intercept"] <- "(Intercept)"
  vc <- list()
  for (g in names(VarCorr(fit))) {
    sds <- VarCorr(fit)[[g]]$sd
    vc[[g]] <- list(sd = as.list(setNames(sds[, "Estimate"], sub("^Intercept$", "(Intercept)", rownames(sds)))),
                    corr = list())
  }
  s <- summary(fit)
  extra <- list(family = paste0(family(fit)$family, "(", family(fit)$link, ")"),
                n_groups = as.list(sapply(ranef(fit), function(r) dim(r)[1])),
                max_rhat = max(c(s$fixed$Rhat, unlist(lapply(s$random, function(r) r$Rhat)))),
                min_bulk_ess = min(c(s$fixed$Bulk_ESS, unlist(lapply(s$random, function(r) r$Bulk_ESS)))),
                divergences = sum(nuts_params(fit)$Value[nuts_params(fit)$Parameter == "divergent__"]))
  save_ref(name, call, "brms", "posterior mean and sd (NUTS, 4 chains x 1000 draws, brms' default priors)",
           d, fe, vc, extra, timing)
}

binary <- function(f) as.integer(f == levels(f)[2])

## ---------------------------------------------------------------- gaussian (lmer, REML)
run_merMod("dyestuff", "lmer(Yield ~ 1 + (1 | Batch), data = d)", lme4::Dyestuff)
run_merMod("rail", "lmer(travel ~ 1 + (1 | Rail), data = d)", as.data.frame(nlme::Rail))
run_merMod("ergostool", "lmer(effort ~ Type + (1 | Subject), data = d)", as.data.frame(nlme::ergoStool))
run_merMod("machines", "lmer(score ~ Machine + (1 | Worker/Machine), data = d)", as.data.frame(nlme::Machines))
run_merMod("oats", "lmer(yield ~ nitro + Variety + (1 | Block/Variety), data = d)", as.data.frame(nlme::Oats))
run_merMod("alfalfa", "lmer(Yield ~ Date + Variety + (1 | Block/Variety), data = d)", as.data.frame(nlme::Alfalfa))
# nlme's Assay (Pinheiro & Bates 1.7) in lme4's form: Block has 2 levels (an ordered factor in
# nlme, unordered here: a grouping factor's order does not enter the model)
run_merMod("assay", "lmer(logDens ~ sample + dilut + (1 | Block) + (1 | Block:sample) + (1 | Block:dilut), data = d)",
           transform(as.data.frame(nlme::Assay), Block = factor(as.character(Block))))
# nlme's Wafer (Pinheiro & Bates 4.3, lme with pdDiag) in lme4's form: the wafers' intercept
# sd is about 0 while their slopes vary (a term judged by its mean residuals looked data-rich)
run_merMod("wafer", "lmer(current ~ voltage + I(voltage^2) + (voltage + I(voltage^2) || Wafer) + (voltage || Wafer:Site), data = d)",
           transform(as.data.frame(nlme::Wafer)[, c("Wafer", "Site", "voltage", "current")],
                     Wafer = factor(as.character(Wafer)), Site = factor(as.character(Site))))
run_merMod("oxide", "lmer(Thickness ~ 1 + (1 | Lot/Wafer), data = d)",
           as.data.frame(nlme::Oxide)[, c("Thickness", "Lot", "Wafer")])
run_merMod("orthodont_nested", "lmer(distance ~ Sex/age + (1 | Subject), data = d)", as.data.frame(nlme::Orthodont))
run_merMod("orthodont_slopes", "lmer(distance ~ age * Sex + (age | Subject), data = d)", as.data.frame(nlme::Orthodont))
run_merMod("oxboys", "lmer(height ~ age + I(age^2) + (age | Subject), data = d)",
           as.data.frame(nlme::Oxboys)[, c("height", "age", "Subject")])
run_merMod("pixel", "lmer(pixel ~ day + I(day^2) + (day | Dog) + (1 | Dog:Side), data = d)", as.data.frame(nlme::Pixel))
run_merMod("chickweight", "lmer(weight ~ Diet * (Time + I(Time^2)) + (Time | Chick), data = d)",
           as.data.frame(ChickWeight))
# a raw quartic growth curve per diet: strongly collinear columns (Time^3, Time^4 and their interactions)
run_merMod("chickweight_quartic",
           "lmer(weight ~ Diet * (Time + I(Time^2) + I(Time^3) + I(Time^4)) + (Time | Chick), data = d)",
           as.data.frame(ChickWeight))
run_merMod("cake", "lmer(angle ~ recipe + temp + (1 | recipe:replicate), data = d)",
           lme4::cake[, c("angle", "recipe", "temp", "replicate")])
run_merMod("early", "lmer(cog ~ age * trt + (1 | id), data = d)", mlmRev::Early)
run_merMod("hsb82", "lmer(mAch ~ meanses * cses + sector * cses + (cses | school), data = d)",
           mlmRev::Hsb82[, c("mAch", "meanses", "cses", "sector", "school")])
run_merMod("scotssec", "lmer(attain ~ verbal * sex + (1 | primary) + (1 | second), data = d)",
           mlmRev::ScotsSec[, c("attain", "verbal", "sex", "primary", "second")])

## ---------------------------------------------------------------- binomial (glmer, Laplace)
contra <- mlmRev::Contraception
contra$use <- binary(contra$use)
run_merMod("contraception", "glmer(use ~ urban + age + livch + (urban | district), family = binomial, data = d)",
           contra[, c("use", "urban", "age", "livch", "district")])
# 3 levels: women in the urban and rural parts of districts (Bates' lme4 book, ch. 6, uses (1 | urban:district))
run_merMod("contraception_nested", "glmer(use ~ urban + age + livch + (1 | district/urban), family = binomial, data = d)",
           contra[, c("use", "urban", "age", "livch", "district")])
# 1.35 children per mother: the Laplace approximation (glmer, glmmTMB) gives the mothers' sd as
# 1.13 against 2.32 by 12-point quadrature (Rodriguez & Goldman 2001) and shrinks every fixed
# effect towards 0, so the reference is brms' posterior (glmer's optimizers stop short here too).
imm <- mlmRev::guImmun
imm$immun <- binary(imm$immun)
run_brms("guimmun", paste("brm(immun ~ kid2p + mom25p + ord + ethn + momEd + husEd + momWork + rural + pcInd81",
                          "+ (1 | mom) + (1 | comm), family = bernoulli(), data = d, chains = 4, cores = 2,",
                          "seed = 1, refresh = 0)"),
         imm[, c("immun", "kid2p", "mom25p", "ord", "ethn", "momEd", "husEd", "momWork", "rural", "pcInd81", "mom", "comm")])
bac <- MASS::bacteria
bac$y <- binary(bac$y)
run_merMod("bacteria", "glmer(y ~ trt + I(week > 2) + (1 | ID), family = binomial, data = d)",
           bac[, c("y", "trt", "week", "ID")])
va <- lme4::VerbAgg
va$r2 <- binary(va$r2)
run_merMod("verbagg", paste("glmer(r2 ~ (Anger + Gender + btype + situ)^2 + (1 | id) + (1 | item), family = binomial, data = d,",
                            "control = glmerControl(optimizer = \"bobyqa\"))"),
           va[, c("r2", "Anger", "Gender", "btype", "situ", "id", "item")])
ucb <- reshape(as.data.frame(UCBAdmissions), idvar = c("Gender", "Dept"), timevar = "Admit", direction = "wide")
names(ucb) <- c("Gender", "Dept", "Admitted", "Rejected")
rownames(ucb) <- NULL
run_merMod("ucbadmissions", "glmer(cbind(Admitted, Rejected) ~ Gender + (1 | Dept), family = binomial, data = d)", ucb)

## ---------------------------------------------------------------- Poisson (glmer, Laplace)
run_merMod("mmmec", "glmer(deaths ~ uvb + offset(log(expected)) + (1 | nation/region), family = poisson, data = d)",
           mlmRev::Mmmec[, c("deaths", "uvb", "expected", "nation", "region")])
run_merMod("grouseticks", "glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION), family = poisson, data = d)",
           lme4::grouseticks[, c("TICKS", "YEAR", "cHEIGHT", "BROOD", "INDEX", "LOCATION")])
arab <- lme4::Arabidopsis
arab$nutrient <- factor(arab$nutrient); arab$rack <- factor(arab$rack); arab$gen <- factor(arab$gen)
run_merMod("arabidopsis", "glmer(total.fruits ~ nutrient * amd + rack + status + (1 | popu) + (1 | gen), family = poisson, data = d)",
           arab[, c("total.fruits", "nutrient", "amd", "rack", "status", "popu", "gen")])
owls <- glmmTMB::Owls[, c("SiblingNegotiation", "FoodTreatment", "SexParent", "BroodSize", "Nest")]
run_merMod("owls_poisson", "glmer(SiblingNegotiation ~ FoodTreatment * SexParent + offset(log(BroodSize)) + (1 | Nest), family = poisson, data = d)", owls)
# Thall & Vail's epilepsy trial, 59 patients x 4 two-week periods (MASS ?epil, glmmPQL's example as a glmer)
run_merMod("epil", "glmer(y ~ lbase * trt + lage + V4 + (1 | subject), family = poisson, data = d)",
           MASS::epil[, c("y", "lbase", "trt", "lage", "V4", "subject")])

## ---------------------------------------------------------------- negative binomial (glmmTMB nbinom2)
run_glmmTMB("owls_nb", "glmmTMB(SiblingNegotiation ~ FoodTreatment * SexParent + offset(log(BroodSize)) + (1 | Nest), family = nbinom2, data = d)", owls)
run_glmmTMB("salamanders_nb", "glmmTMB(count ~ spp + mined + (1 | site), family = nbinom2, data = d)",
            glmmTMB::Salamanders[, c("count", "spp", "mined", "site")])

## ---------------------------------------------------------------- ordinal (clmm, logit)
run_clmm("wine", "clmm(rating ~ temp + contact + (1 | judge), data = d)",
         ordinal::wine[, c("rating", "temp", "contact", "judge")])
run_clmm("soup", "clmm(SURENESS ~ PROD + (1 | RESP), data = d)", ordinal::soup[, c("SURENESS", "PROD", "RESP")])

factors_file <- file.path(out_dir, "data", "factors.json")
if (length(only)) {  # the other cases' levels as they were
  kept <- fromJSON(factors_file, simplifyDataFrame = FALSE, simplifyMatrix = FALSE)
  for (n in names(factors)) kept[[n]] <- factors[[n]]
  factors <- kept
}
writeLines(toJSON(factors, auto_unbox = TRUE, pretty = TRUE), factors_file)
