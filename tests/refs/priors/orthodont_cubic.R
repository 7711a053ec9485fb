# Reference for tests/priors/test_joint_prior.py: nlme's Orthodont with a raw cubic in age interacted
# with sex (4 ages: the cubic is saturated, its raw columns almost collinear, VIF up to 7.6e5),
# fitted by lme4 (REML). Run from this directory: Rscript orthodont_cubic.R
suppressMessages({library(lme4); library(nlme, warn.conflicts = FALSE); library(jsonlite)})
d <- as.data.frame(nlme::Orthodont)
d$Subject <- as.character(d$Subject)
d$Female <- as.numeric(d$Sex == "Female")
write.csv(d[, c("Subject", "Female", "age", "distance")], "orthodont.csv", row.names = FALSE)
m <- lmer(distance ~ (age + I(age^2) + I(age^3)) * Female + (1 | Subject), data = d, REML = TRUE)
co <- summary(m)$coefficients
vc <- as.data.frame(VarCorr(m))
out <- list(
  name = "orthodont_cubic", engine = "lme4", version = as.character(packageVersion("lme4")),
  function_call = "lmer(distance ~ (age + I(age^2) + I(age^3)) * Female + (1 | Subject), data = nlme::Orthodont with Female = Sex == 'Female', REML = TRUE)",
  method = "REML", n_obs = nrow(d),
  fixed_effects = data.frame(term = rownames(co), estimate = co[, 1], std_error = co[, 2], row.names = NULL),
  variance_components = data.frame(group = vc$grp, term = vc$var1, sd = vc$sdcor, row.names = NULL)
)
writeLines(toJSON(out, digits = NA, pretty = TRUE, auto_unbox = TRUE), "orthodont_cubic.json")
