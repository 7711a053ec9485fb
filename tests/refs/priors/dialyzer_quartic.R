# Reference for tests/priors/test_joint_prior.py: Pinheiro & Bates' (2000, sec. 5.2) dialyzer model,
# a raw 4th-degree polynomial in transmembrane pressure interacted with blood flow (QB),
# fitted by lme4 (REML). Run from this directory: Rscript dialyzer_quartic.R
suppressMessages({library(lme4); library(nlme, warn.conflicts = FALSE); library(jsonlite)})
d <- as.data.frame(nlme::Dialyzer)
d$Subject <- as.character(d$Subject)
d$QB <- as.character(d$QB)
write.csv(d[, c("Subject", "QB", "pressure", "rate")], "dialyzer.csv", row.names = FALSE)
d$Subject <- factor(d$Subject, levels = unique(d$Subject))
f <- rate ~ (pressure + I(pressure^2) + I(pressure^3) + I(pressure^4)) * QB + (pressure + I(pressure^2) || Subject)
m <- lmer(f, data = d, REML = TRUE)
co <- summary(m)$coefficients
vc <- as.data.frame(VarCorr(m))
out <- list(
  name = "dialyzer_quartic", engine = "lme4", version = as.character(packageVersion("lme4")),
  function_call = "lmer(rate ~ (pressure + I(pressure^2) + I(pressure^3) + I(pressure^4)) * QB + (pressure + I(pressure^2) || Subject), data = nlme::Dialyzer, REML = TRUE)",
  method = "REML", n_obs = nrow(d),
  fixed_effects = data.frame(term = rownames(co), estimate = co[, 1], std_error = co[, 2], row.names = NULL),
  variance_components = data.frame(group = vc$grp, term = vc$var1, sd = vc$sdcor, row.names = NULL)
)
writeLines(toJSON(out, digits = NA, pretty = TRUE, auto_unbox = TRUE), "dialyzer_quartic.json")
