-- Declares one parameter of each type; run() reports them through axf.log.
name = "params demo"
params = {K = 30, ratio = 1.1, rule = "reference", verbose = false}
params_doc = {K = "an integer", ratio = "a number"}
function run(s, p)
  axf.log(string.format("K=%s %s ratio=%s %s rule=%s verbose=%s", p.K, math.type(p.K), p.ratio,
                        math.type(p.ratio), p.rule, tostring(p.verbose)))
end
