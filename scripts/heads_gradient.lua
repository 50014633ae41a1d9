-- heads_gradient.lua: iterative head pruning by first-order importance (Michel, Levy and Neubig
-- 2019, "Are Sixteen Heads Really Better than One?"; the Hugging Face "bertology" example).
--
-- Each round: importance of every remaining head = |dL/dgate| summed over the search split
-- (s:importance("gradient", "heads")), L2-normalised within each layer; the `fraction` least
-- important remaining heads are masked together as one step, provided the task metric stays at
-- or above min_ratio x the original metric. The first round that would fall below stops the
-- policy without committing it. Importance is recomputed after each step (as bertology does).

name = "Head pruning by gradient importance (Michel et al. 2019)"

params = {
  fraction = 0.1,        -- share of the remaining heads masked per step (at least one)
  min_ratio = 0.9,       -- stop before the metric falls below min_ratio x the original
  importance = "gradient", -- "gradient" (Michel), or "exact", "magnitude", "entropy"
  normalize = true,      -- L2-normalise importances within each layer (Michel)
  keep_last = false,     -- never remove the last head of a layer (it would drop the block)
  max_steps = 1000,
}

params_doc = {
  fraction = "share of remaining heads removed per step",
  min_ratio = "stop before metric < min_ratio x original metric",
  importance = "gradient | exact | magnitude | entropy",
  normalize = "per-layer L2 normalisation of head importance",
  keep_last = "keep at least one head in every layer",
  max_steps = "upper bound on pruning steps",
}

local function remaining_heads(s)
  local list, per_layer = {}, {}
  for l = 0, s:layers() - 1 do
    local lp = s:layer(l)
    per_layer[l] = 0
    if lp.attn then
      for h = 0, lp.heads - 1 do
        if lp.head[h] then
          list[#list + 1] = {layer = l, head = h}
          per_layer[l] = per_layer[l] + 1
        end
      end
    end
  end
  return list, per_layer
end

function run(s, p)
  assert(p.fraction > 0 and p.fraction <= 1, "fraction must be in (0, 1]")
  local base = s:baseline()
  local floor_metric = p.min_ratio * base.metric
  axf.log(string.format("heads_gradient: %s importance, %.0f%% per step, stop below %s %.4f",
                        p.importance, 100 * p.fraction, base.metric_name, floor_metric))
  for step = 1, p.max_steps do
    local heads, per_layer = remaining_heads(s)
    if #heads <= 1 then break end
    local imp = s:importance(p.importance, "heads")
    for _, e in ipairs(heads) do
      e.v = (imp.head[e.layer] or {})[e.head] or 0
      if p.importance == "exact" then e.v = e.v end -- loss increase: higher = more important
    end
    if p.normalize then
      local norm = {}
      for _, e in ipairs(heads) do norm[e.layer] = (norm[e.layer] or 0) + e.v * e.v end
      for _, e in ipairs(heads) do
        local n = math.sqrt(norm[e.layer])
        if n > 0 then e.v = e.v / n end
      end
    end
    table.sort(heads, function(a, b)
      if a.v ~= b.v then return a.v < b.v end
      if a.layer ~= b.layer then return a.layer < b.layer end
      return a.head < b.head
    end)
    local k = math.max(1, math.floor(p.fraction * #heads))
    local acts, left = {}, {}
    for l, c in pairs(per_layer) do left[l] = c end
    for _, e in ipairs(heads) do
      if #acts >= k then break end
      if not (p.keep_last and left[e.layer] <= 1) then
        acts[#acts + 1] = {op = "drop_head", layer = e.layer, head = e.head}
        left[e.layer] = left[e.layer] - 1
      end
    end
    if #acts == 0 or #acts >= #heads then break end
    local r = s:try(acts)
    if (r.metric or -math.huge) < floor_metric then
      s:note(string.format("stop: %s %.4f < %.2f x %.4f", r.metric_name, r.metric or 0 / 0,
                           p.min_ratio, base.metric))
      break
    end
    s:apply(acts, string.format("%d least important heads; %s %.4f >= %.4f", #acts,
                                r.metric_name, r.metric, floor_metric))
  end
end
