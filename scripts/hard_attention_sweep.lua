-- hard_attention_sweep.lua: per-layer sweep of sparse hard attention. For each layer (bottom up
-- by default) every setting in the sweep is tried on top of what was kept so far; the setting with
-- the lowest mean loss is kept when it passes the rule, otherwise the layer stays dense.
--   mode = "topk" | "topk_renorm": the sweep is over K (ks)
--   mode = "threshold": the sweep is over the probability threshold (thresholds)
--   rule = "loss": loss <= (1 + slack) x current loss; "reference": the AxFormer rule
--          (loss strictly lower and more than `majority` of the samples no worse)

name = "Hard attention sweep"

params = {
  mode = "topk",
  ks = "2,4,8,16,30",
  thresholds = "0.005,0.01,0.02,0.05,0.1",
  order = "bottom_up",    -- or "top_down"
  rule = "loss",          -- "loss" or "reference"
  slack = 0.0,            -- rule=loss: accept up to (1 + slack) x the current loss
  majority = 0.5,
}

params_doc = {
  mode = "topk | topk_renorm | threshold",
  ks = "comma list of K values (top-k modes)",
  thresholds = "comma list of thresholds (threshold mode)",
  order = "bottom_up | top_down",
  rule = "loss | reference",
  slack = "relative loss increase tolerated by rule=loss",
  majority = "fraction of samples no worse (rule=reference)",
}

local function list(str)
  local t = {}
  for x in str:gmatch("[^,%s]+") do
    local v = tonumber(x)
    assert(v, "not a number in a sweep list: " .. x)
    t[#t + 1] = v
  end
  assert(#t > 0, "empty sweep list")
  return t
end

function run(s, p)
  local values = p.mode == "threshold" and list(p.thresholds) or list(p.ks)
  assert(p.rule == "loss" or p.rule == "reference", "rule must be loss or reference")
  local L = s:layers()
  for n = 0, L - 1 do
    local i = p.order == "top_down" and (L - 1 - n) or n
    local lp = s:layer(i)
    if lp.attn and lp.hard == "off" then
      local cur = s:eval()
      local best, best_r
      for _, v in ipairs(values) do
        local a = {op = "set_hard", layer = i, mode = p.mode}
        if p.mode == "threshold" then a.threshold = v else a.k = math.tointeger(v) or math.floor(v) end
        local r = s:try(a)
        s:note(string.format("sweep L%d %s=%g: loss %.4f", i, p.mode == "threshold" and "t" or "K",
                             v, r.loss))
        if not best_r or r.loss < best_r.loss then best, best_r = a, r end
      end
      local ok
      if p.rule == "loss" then
        ok = best_r.loss <= (1 + p.slack) * cur.loss
      else
        ok = best_r.loss < cur.loss and best_r.n_no_worse > math.floor(best_r.n * p.majority)
      end
      if ok then
        s:apply(best, string.format("best of the sweep: loss %.4f (was %.4f)", best_r.loss, cur.loss))
      else
        axf.log(string.format("L%d stays dense: best loss %.4f vs %.4f", i, best_r.loss, cur.loss))
      end
    end
  end
end
