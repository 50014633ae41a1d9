-- hard_attention_sweep.lua: per-layer sweep of sparse hard attention. For each layer (bottom up
-- by default) every setting in the sweep is tried on top of what was kept so far, and the most
-- aggressive setting that passes the rule is kept (smallest K, or largest threshold: sparser
-- attention is cheaper); when none passes, the layer stays dense.
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
      -- most aggressive first: K ascending, threshold descending
      table.sort(values, function(a, b)
        if p.mode == "threshold" then return a > b end
        return a < b
      end)
      local best, best_r
      for _, v in ipairs(values) do
        local a = {op = "set_hard", layer = i, mode = p.mode}
        if p.mode == "threshold" then a.threshold = v else a.k = math.tointeger(v) or math.floor(v) end
        local r = s:try(a)
        local pass
        if p.rule == "loss" then
          pass = r.loss <= (1 + p.slack) * cur.loss
        else
          pass = r.loss < cur.loss and r.n_no_worse > math.floor(r.n * p.majority)
        end
        s:note(pass and "passes the rule: the sparsest such setting is kept"
               or string.format("fails the %s rule", p.rule))
        if pass then best, best_r = a, r break end
      end
      local ok = best ~= nil
      if ok then
        s:apply(best, string.format("sparsest passing setting: loss %.5f (was %.5f)", best_r.loss,
                                    cur.loss))
      else
        axf.log(string.format("L%d stays dense: no setting passes the rule", i))
      end
    end
  end
end
