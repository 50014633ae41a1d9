-- drop_layers.lua: layer dropping (Sajjad, Dalvi, Durrani and Nakov, "Poor Man's BERT"): remove
-- whole encoder layers from the top, from the bottom, or alternately, without looking at the
-- data. Each dropped layer is one step; the session records its loss and accuracy.

name = "Layer dropping (Poor Man's BERT)"

params = {
  strategy = "top",   -- "top" (L-1, L-2, ...), "bottom" (0, 1, ...), "alternate" (L-2, L-4, ...)
  count = 2,          -- layers to drop
  keep = 1,           -- never drop below this many layers
}

params_doc = {
  strategy = "top | bottom | alternate (every other layer, from the second-to-top down)",
  count = "number of layers to drop",
  keep = "minimum number of layers left",
}

function run(s, p)
  local L = s:layers()
  local order = {}
  if p.strategy == "top" then
    for i = L - 1, 0, -1 do order[#order + 1] = i end
  elseif p.strategy == "bottom" then
    for i = 0, L - 1 do order[#order + 1] = i end
  elseif p.strategy == "alternate" then
    -- Sajjad et al. drop odd/even layers counted from the top, keeping the top layer
    for i = L - 2, 0, -2 do order[#order + 1] = i end
    for i = L - 1, 0, -2 do order[#order + 1] = i end
  else
    error("strategy must be top, bottom or alternate (got " .. p.strategy .. ")")
  end
  local alive = 0
  for i = 0, L - 1 do
    local lp = s:layer(i)
    if lp.attn or lp.ffn then alive = alive + 1 end
  end
  local dropped = 0
  for _, i in ipairs(order) do
    if dropped >= p.count or alive <= p.keep then break end
    local lp = s:layer(i)
    if lp.attn or lp.ffn then
      s:apply({op = "drop_layer", layer = i}, p.strategy .. " layer dropping")
      dropped, alive = dropped + 1, alive - 1
    end
  end
  axf.log(string.format("drop_layers: dropped %d layer(s), %s", dropped, tostring(s:eval())))
end
