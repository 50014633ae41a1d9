-- random.lua: random pruning to a budget, the control experiment. Elements (heads, FFN neuron
-- groups, attention and FFN blocks) are removed uniformly at random, without looking at the data,
-- until the target is reached. Seeded: the same seed gives the same elements.
--   target = "params"    stop when parameters <= keep x the original
--   target = "flops"     stop when FLOPs per token <= keep x the original
--   target = "elements"  remove exactly `elements` elements
-- Compare it with axformer.lua at the same budget: the accuracy-driven search must beat it.

name = "Random pruning (control)"

params = {
  target = "params",      -- "params", "flops" or "elements"
  keep = 0.8,             -- fraction of params/FLOPs to keep
  elements = 10,          -- for target = "elements"
  kinds = "heads,groups", -- element kinds drawn: heads, groups, attn, ffn, layers
  groups = 12,
  seed = 0,               -- 0 = the session's seed
}

params_doc = {
  target = "params | flops | elements",
  keep = "fraction of params or FLOPs to keep",
  elements = "elements to remove when target=elements",
  kinds = "comma list of heads, groups, attn, ffn, layers",
  groups = "FFN neuron groups per layer",
  seed = "random seed (0 = the session's)",
}

local function candidates(s, p, kinds)
  local c = {}
  for l = 0, s:layers() - 1 do
    local lp = s:layer(l)
    if kinds.layers and (lp.attn or lp.ffn) then c[#c + 1] = {op = "drop_layer", layer = l} end
    if kinds.attn and lp.attn then c[#c + 1] = {op = "drop_attn", layer = l} end
    if kinds.ffn and lp.ffn then c[#c + 1] = {op = "drop_ffn", layer = l} end
    if kinds.heads and lp.attn then
      for h = 0, lp.heads - 1 do
        if lp.head[h] then c[#c + 1] = {op = "drop_head", layer = l, head = h} end
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

function run(s, p)
  local kinds = {}
  for k in p.kinds:gmatch("[^,%s]+") do
    assert(({heads = 1, groups = 1, attn = 1, ffn = 1, layers = 1})[k], "unknown kind " .. k)
    kinds[k] = true
  end
  assert(p.target == "params" or p.target == "flops" or p.target == "elements",
         "target must be params, flops or elements")
  math.randomseed(p.seed ~= 0 and p.seed or s:seed())
  local base = s:baseline()
  local removed = 0
  local function reached()
    if p.target == "elements" then return removed >= p.elements end
    local m = s:eval()
    if p.target == "params" then return m.params <= p.keep * base.params end
    return m.flops <= p.keep * base.flops
  end
  while not reached() do
    local c = candidates(s, p, kinds)
    if #c == 0 then break end
    local a = c[math.random(#c)]
    s:apply(a, "random")
    removed = removed + 1
  end
  axf.log(string.format("random: removed %d element(s); %s", removed, tostring(s:eval())))
end
