# The data of tests/test_converge.py, exported from R 4 (nlme 3.1), and lme4's REML estimates:
#   Rscript tests/data/converge/export.R   (run from the repository root)
suppressMessages({library(nlme); library(lme4)})
m <- as.data.frame(nlme::Machines); m$Worker <- factor(as.character(m$Worker))
o <- as.data.frame(nlme::Oats); o$Block <- factor(as.character(o$Block))
write.csv(m, "tests/data/converge/Machines.csv", row.names = FALSE)
write.csv(o, "tests/data/converge/Oats.csv", row.names = FALSE)
p <- function(f) { print(summary(f)$coefficients[, 1:2]); print(VarCorr(f)) }
p(lmer(score ~ Machine + (1 | Worker/Machine), data = m))
p(lmer(yield ~ nitro + Variety + (1 | Block/Variety), data = o))
