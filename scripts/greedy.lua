-- greedy.lua: best-first pruning. Each round every element still present (attention and FFN
-- blocks, heads, FFN neuron groups: `kinds`) is tried on the committed plan, and the candidate
-- with the lowest loss is kept when it passes the rule; the search ends when none passes or
-- after max_steps steps. One evaluation per candidate per round, all on the same plan: with
-- batch = true a round is one s:try_batch (the same trials, journal and decisions as one s:try
-- after the other, which batch = false does).
--   rule = "loss"       loss strictly below the committed plan's
--   rule = "reference"  that, and more than `majority` of the samples no worse than the original

name = "Greedy best-first pruning"

params = {
  kinds = "attn,ffn,heads", -- element kinds tried: attn, ffn, heads, groups
  groups = 12,
  rule = "loss",
  majority = 0.5,
  max_steps = 4,
  batch = true,
}

params_doc = {
  kinds = "comma list of attn, ffn, heads, groups",
  groups = "FFN neuron groups per layer (kinds groups)",
  rule = "loss | reference",
  majority = "fraction of samples no worse than the original (rule=reference)",
  max_steps = "most elements removed",
  batch = "try each round's candidates with one s:try_batch (false: s:try one by one)",
}

local function candidates(s, p, kinds)
  local c = {}
  for l = 0, s:layers() - 1 do
    local lp = s:layer(l)
    if kinds.attn and lp.attn then c[#c + 1] = {op = "drop_attn", layer = l} end
    if kinds.ffn and lp.ffn then c[#c + 1] = {op = "drop_ffn", layer = l} end
    if kinds.heads and lp.attn then
      for h = 0, lp.heads - 1 do
        local a = {op = "drop_head", layer = l, head = h}
        if lp.head[h] and s:check(a) then c[#c + 1] = a end
      end
    end
    if kinds.groups and lp.ffn then
      for g = 0, p.groups - 1 do
        local a = {op = "drop_group", layer = l, group = g, groups = p.groups}
        if s:check(a) then c[#c + 1] = a end
      end
    end
  end
  return c
end

local function passes(p, r, cur)
  if not (r.loss < cur.loss) then return false end
  return p.rule == "loss" or r.n_no_worse > math.floor(r.n * p.majority)
end

function run(s, p)
  local kinds = {}
  for k in p.kinds:gmatch("[^,%s]+") do
    assert(({attn = 1, ffn = 1, heads = 1, groups = 1})[k], "unknown kind " .. k)
    kinds[k] = true
  end
  assert(p.rule == "loss" or p.rule == "reference", "rule must be loss or reference")
  for step = 1, p.max_steps do
    local cands = candidates(s, p, kinds)
    if #cands == 0 then break end
    local cur = s:eval()
    local rs = {}
    if p.batch then
      rs = s:try_batch(cands)
    else
      for k, a in ipairs(cands) do rs[k] = s:try(a) end
    end
    local best
    for k, r in ipairs(rs) do
      if passes(p, r, cur) and (not best or r.loss < rs[best].loss) then best = k end
    end
    for k, r in ipairs(rs) do
      s:note(k == best and "kept: the lowest loss of the round"
             or (passes(p, r, cur) and "passes, not the lowest" or "fails the rule"), r.trial)
    end
    if not best then
      axf.log(string.format("greedy: round %d: no candidate passes the %s rule", step, p.rule))
      break
    end
    s:apply(cands[best], string.format("round %d: lowest loss of %d candidates, %.5f (was %.5f)",
                                       step, #cands, rs[best].loss, cur.loss))
  end
end
