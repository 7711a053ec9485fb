# Reference for tests/statistical/test_weights_coverage.py: glmmTMB's weighted pseudo-maximum
# likelihood (each row's log-likelihood multiplied by its weight) on mlmRev's Exam data, with
# weights 1 + (row number mod 3) (a deterministic stand-in for survey weights).
# Run: Rscript tests/statistical/make_weights_ref.R
suppressMessages({library(glmmTMB); library(jsonlite)})
d <- read.csv("hierbayes/datasets/data/Exam.csv")
d$w <- 1 + ((seq_len(nrow(d)) - 1) %% 3)
m <- glmmTMB(normexam ~ standLRT + sex + (1 | school), data = d, weights = w, REML = FALSE)
fe <- fixef(m)$cond
se <- sqrt(diag(vcov(m)$cond))
vc <- VarCorr(m)$cond$school
out <- list(
  engine = paste("glmmTMB", packageVersion("glmmTMB")),
  fixed = as.list(fe), fixed_se = as.list(se),
  sd_school = attr(vc, "stddev")[[1]], sigma = sigma(m), logLik = as.numeric(logLik(m))
)
write(toJSON(out, auto_unbox = TRUE, digits = 10, pretty = TRUE), "tests/refs/glmmtmb/exam_weighted.json")
