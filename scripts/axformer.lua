-- axformer.lua: the AxFormer method (docs/method.md), exactly.
--
--   Stage A (hard attention), layers bottom to top:
--       try hard attention on layer i; accept or revert
--   Stage B (pruning), layers top to bottom:
--       try dropping the FFN block of layer i
--       if rejected and its loss < near_miss * best: try each neuron group; accept or revert
--       try dropping the attention block of layer i
--       if rejected and its loss < near_miss * best: try each head; accept or revert
--       with int8 = true: then try int8 for what is left of the layer's FFN and attention blocks
--       (not part of the method; each kept only when the rule holds, like any candidate)
--   with int8 = true, last: try the word embeddings in int8 (kept only when the rule holds)
--
-- Acceptance ("rule"); l0 = per-sample losses of the ORIGINAL model (never updated), best = mean
-- loss of the committed plan, n = samples, need = floor(n * majority):
--   reference  mean loss < best (strictly) AND #{j : l[j] <= l0[j]} > need      (the paper)
--   loss       mean loss < best (strictly)
--   tolerance  mean loss < best (strictly) AND #{j : l[j] <= l0[j] + eps} > need
--   accuracy   task metric > committed metric, or equal metric and mean loss < best
-- "best" is read from the session before every trial (s:eval() is free after a commit), so an
-- undo made while the policy is paused simply moves the reference point back.
-- Every trial gets a note with its verdict; every accepted candidate is one step.

name = "AxFormer (accuracy-driven approximation)"

params = {
  K = 30,                    -- keys kept per query row in stage A (reference: 30)
  hard_mode = "topk",        -- "topk" (reference: no renormalising), "topk_renorm", "threshold"
  threshold = 0.01,          -- probability threshold when hard_mode = "threshold"
  near_miss = 1.1,           -- go finer when a rejected block's loss < near_miss * best
  majority = 0.5,            -- fraction of samples that must be no worse than the original
  groups = 12,               -- FFN neuron groups per layer (width / groups neurons each)
  rule = "reference",        -- "reference", "loss", "tolerance", "accuracy"
  eps = 0.01,                -- per-sample tolerance of rule "tolerance" (loss units)
  stages = "AB",             -- stage order: "AB", "BA", "A", "B"
  hard_order = "bottom_up",  -- layer order of stage A: "bottom_up" or "top_down"
  prune_order = "top_down",  -- layer order of stage B: "top_down" or "bottom_up"
  ffn_first = true,          -- stage B tries the FFN block before the attention block
  int8 = false,              -- stage B then tries int8 for each remaining block of the layer
  batch = false,             -- try a layer's neuron groups / heads as one batch (s:try_batch)
}

params_doc = {
  K = "keys kept per query row by hard attention (stage A)",
  hard_mode = "topk | topk_renorm | threshold",
  threshold = "probability threshold for hard_mode=threshold",
  near_miss = "refine a rejected block when its loss < near_miss x best",
  majority = "fraction of samples that must be no worse than under the original model",
  groups = "FFN neuron groups per layer",
  rule = "reference | loss | tolerance | accuracy",
  eps = "per-sample loss tolerance of rule=tolerance",
  stages = "AB | BA | A | B",
  hard_order = "bottom_up | top_down (stage A)",
  prune_order = "top_down | bottom_up (stage B)",
  ffn_first = "stage B tries FFN before attention in each layer",
  int8 = "after pruning a layer, try int8 for its remaining FFN and attention blocks, and at the end the "
         .. "word embeddings (each kept by the rule)",
  batch = "try a layer's groups / heads as batches (same decisions; more trials when one is kept)",
}

local function check_params(p)
  local rules = {reference = true, loss = true, tolerance = true, accuracy = true}
  assert(rules[p.rule], "rule must be reference, loss, tolerance or accuracy (got " .. p.rule .. ")")
  assert(p.stages:match("^[AB][AB]?$") and p.stages ~= "AA" and p.stages ~= "BB",
         "stages must be AB, BA, A or B")
  assert(p.hard_order == "bottom_up" or p.hard_order == "top_down", "hard_order: bottom_up | top_down")
  assert(p.prune_order == "bottom_up" or p.prune_order == "top_down", "prune_order: bottom_up | top_down")
  assert(p.K >= 1, "K must be >= 1")
  assert(p.groups >= 1 and p.groups <= 64, "groups must be 1..64")
  assert(p.majority >= 0 and p.majority < 1, "majority must be in [0, 1)")
  assert(p.near_miss > 0, "near_miss must be > 0")
  assert(not (p.batch and p.rule == "tolerance"),
         "batch = true needs rule reference, loss or accuracy (tolerance reads the latest trial's losses)")
end

local function layer_order(n, order)
  local t = {}
  for i = 0, n - 1 do
    t[#t + 1] = (order == "bottom_up") and i or (n - 1 - i)
  end
  return t
end

-- Decides on the trial that was just made (r = its metrics, cur = committed metrics).
-- Returns accepted, verdict text.
local function judge(s, p, r, cur)
  local n = r.n
  local need = math.floor(n * p.majority)
  local lower = r.loss < cur.loss
  if p.rule == "accuracy" then
    local m, m0 = r.metric or -math.huge, cur.metric or -math.huge
    if m > m0 then
      return true, string.format("kept: %s %.5f > %.5f", r.metric_name, m, m0)
    elseif m == m0 and lower then
      return true, string.format("kept: same %s, loss %.5f < %.5f", r.metric_name, r.loss, cur.loss)
    end
    return false, string.format("rejected: %s %.5f vs %.5f", r.metric_name, m, m0)
  end
  if not lower then
    return false, string.format("rejected: loss %.5f not below best %.5f", r.loss, cur.loss)
  end
  if p.rule == "loss" then
    return true, string.format("kept: loss %.5f < best %.5f", r.loss, cur.loss)
  end
  local ok_count, what
  if p.rule == "tolerance" then
    ok_count = s:trial_no_worse(p.eps)
    what = string.format("within %g of the original", p.eps)
  else
    ok_count = r.n_no_worse
    what = "no worse"
  end
  if ok_count > need then
    return true, string.format("kept: loss %.5f < best %.5f, %d of %d %s", r.loss, cur.loss,
                               ok_count, n, what)
  end
  return false, string.format("rejected: loss %.5f < best %.5f but only %d of %d %s (majority rule)",
                              r.loss, cur.loss, ok_count, n, what)
end

-- Tries one candidate; commits it when the rule accepts. Returns accepted, trial loss, best.
local function attempt(s, p, action)
  local ok = s:check(action)
  if not ok then return false, math.huge, nil end -- already gone / not applicable
  local cur = s:eval()                               -- committed plan (free: recorded)
  local r = s:try(action)
  local accepted, verdict = judge(s, p, r, cur)
  if accepted then
    s:apply(action, verdict)                         -- reuses the trial: no re-evaluation
  else
    s:note(verdict)
  end
  return accepted, r.loss, cur.loss
end

local function stage_a(s, p)
  local hard = {op = "set_hard", mode = p.hard_mode}
  if p.hard_mode == "threshold" then hard.threshold = p.threshold else hard.k = p.K end
  for _, i in ipairs(layer_order(s:layers(), p.hard_order)) do
    local lp = s:layer(i)
    if lp.attn and lp.hard == "off" then
      local a = {op = "set_hard", layer = i, mode = hard.mode, k = hard.k, threshold = hard.threshold}
      attempt(s, p, a)
    end
  end
end

-- The candidates of one round (every neuron group or every head of a layer), with batch = true:
-- all that still apply are tried on the committed plan in one s:try_batch and judged in order,
-- as attempt() judges them one by one; the first one kept is applied, and those after it, tried
-- on a plan that no longer holds, are noted so and go into the next batch. Every candidate is
-- thus judged on the plan the one-by-one loop judges it on: the same decisions and steps.
local function attempt_batch(s, p, cands)
  local left = cands
  while #left > 0 do
    local ok = {}
    for _, a in ipairs(left) do
      if s:check(a) then ok[#ok + 1] = a end
    end
    if #ok == 0 then return end
    local cur = s:eval()
    local rs = s:try_batch(ok)
    left = {}
    local kept
    for k, r in ipairs(rs) do
      if kept then
        s:note(string.format("superseded: candidate %d of this batch was kept; tried again", kept), r.trial)
        left[#left + 1] = ok[k]
      else
        local accepted, verdict = judge(s, p, r, cur)
        if accepted then
          s:apply(ok[k], verdict)
          kept = k
        else
          s:note(verdict, r.trial)
        end
      end
    end
  end
end

local function prune_ffn(s, p, i)
  if not s:layer(i).ffn then return end
  local accepted, loss, best = attempt(s, p, {op = "drop_ffn", layer = i})
  if accepted or not best or not (loss < p.near_miss * best) then return end
  if p.batch then
    local cands = {}
    for g = 0, p.groups - 1 do cands[#cands + 1] = {op = "drop_group", layer = i, group = g, groups = p.groups} end
    return attempt_batch(s, p, cands)
  end
  for g = 0, p.groups - 1 do
    local lp = s:layer(i)
    if not lp.ffn then break end
    -- group states are reported for the session's default G; recheck with s:check instead
    attempt(s, p, {op = "drop_group", layer = i, group = g, groups = p.groups})
  end
end

local function prune_attn(s, p, i)
  if not s:layer(i).attn then return end
  local accepted, loss, best = attempt(s, p, {op = "drop_attn", layer = i})
  if accepted or not best or not (loss < p.near_miss * best) then return end
  if p.batch then
    local cands = {}
    for h = 0, s:heads(i) - 1 do
      if s:layer(i).head[h] then cands[#cands + 1] = {op = "drop_head", layer = i, head = h} end
    end
    return attempt_batch(s, p, cands)
  end
  for h = 0, s:heads(i) - 1 do
    local lp = s:layer(i)
    if not lp.attn then break end
    if lp.head[h] then attempt(s, p, {op = "drop_head", layer = i, head = h}) end
  end
end

-- int8 for what pruning left of layer i, block by block in the pruning order.
local function quantize_layer(s, p, i)
  local order = p.ffn_first and {"ffn", "attn"} or {"attn", "ffn"}
  for _, b in ipairs(order) do
    local lp = s:layer(i)
    if (b == "ffn" and lp.ffn and not lp.int8_ffn) or (b == "attn" and lp.attn and not lp.int8_attn) then
      attempt(s, p, {op = "quantize", layer = i, block = b})
    end
  end
end

local function stage_b(s, p)
  for _, i in ipairs(layer_order(s:layers(), p.prune_order)) do
    if p.ffn_first then
      prune_ffn(s, p, i)
      prune_attn(s, p, i)
    else
      prune_attn(s, p, i)
      prune_ffn(s, p, i)
    end
    if p.int8 then quantize_layer(s, p, i) end
  end
end

function run(s, p)
  check_params(p)
  local base = s:baseline()
  axf.log(string.format("axformer: rule=%s K=%d near_miss=%g majority=%g groups=%d stages=%s; "
                        .. "baseline loss %.5f on %d samples", p.rule, p.K, p.near_miss,
                        p.majority, p.groups, p.stages, base.loss, base.n))
  for stage in p.stages:gmatch(".") do
    if stage == "A" then stage_a(s, p) else stage_b(s, p) end
  end
  if p.int8 and not s:int8_embed() then
    attempt(s, p, {op = "quantize", block = "embed"})
  end
  local now = s:eval()
  axf.log(string.format("axformer: done, %d steps; loss %.5f -> %.5f, params %.3fM -> %.3fM, "
                        .. "size %.2f MB -> %.2f MB", s:cursor(), base.loss, now.loss, base.params / 1e6,
                        now.params / 1e6, base.size / 1e6, now.size / 1e6))
end
