-- Two prunes, then a distil step (issue 18), then one more prune on the distilled weights: a
-- policy's s:distil is a step boundary like s:apply.
name = "prune then distil"
params = {train = "", steps = 40, lr = 0.001}
params_doc = {train = "training file of the distillation", steps = "distillation steps", lr = "its learning rate"}
function run(s, p)
  s:apply({op = "drop_layer", layer = 0})
  s:apply({op = "drop_ffn", layer = 1})
  local m = s:distil({train = p.train, steps = p.steps, eval_every = 20, lr = p.lr}, "recover")
  axf.log(string.format("distilled: accuracy %.4f", m.accuracy))
  assert(s:history()[3].distil and #s:history()[3].actions == 0)
  local ok, err = pcall(function() return s:distil({train = p.train, bogus = 1}) end)
  assert(not ok and tostring(err):find("unknown field bogus"), tostring(err))
  s:apply({op = "drop_head", layer = 2, head = 0})
end
