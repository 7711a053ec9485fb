# survival::colon's weibull frailty per patient (recurrence and death: two rows each), fitted
# by maximum likelihood with the frailty integrated out (make_refs.R's ml_ghq, 20-node adaptive
# Gauss-Hermite quadrature). Run from tests/survival: Rscript r_colon.R
# R 4.2, survival 3.5. The data: colon[!is.na(colon$nodes), c("id", "rx", "nodes", "etype",
# "time", "status")] written to data/colon.csv.
library(survival)
exprs <- parse("make_refs.R")
for (e in exprs) if (is.call(e) && identical(e[[1]], as.name("<-")) && is.call(e[[3]]) &&
                     identical(e[[3]][[1]], as.name("function"))) eval(e)
d <- read.csv("data/colon.csv")
d$rx <- factor(d$rx, levels = c("Lev", "Lev+5FU", "Obs"))
s <- survreg(Surv(time, status) ~ rx + nodes + etype, data = d, dist = "weibull")
f <- ml_ghq(~ rx + nodes + etype, d, surv_rows(d$time, d$status), d$id, "weibull",
            start = c(coef(s), log(s$scale), log(1)))
out <- rbind(estimate = f$par, se = f$se)
colnames(out) <- c(colnames(f$X), "log(scale)", "log(sd)")
print(signif(out, 7)); cat("logLik", f$logLik, "\n")
