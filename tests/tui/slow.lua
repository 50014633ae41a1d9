-- slow.lua: a test policy that keeps the worker busy. It tries head removals over and over
-- (each try is a real evaluation of the search split) and commits one step every `every` tries,
-- so a test can watch a policy that runs, pause it and carry on, without depending on how fast
-- the machine is. A committed step sets top-k hard attention on one layer with a k no earlier
-- step gave that layer, so the policy never runs out of steps (it ends only after `tries`).
name = "slow (test)"
params = { tries = 100000, every = 1000000 }

function run(s, p)
  local n, steps = 0, 0
  local layers = s:layers()
  for i = 1, p.tries do
    local l = i % layers
    local heads = s:layer(l).head
    local h = nil
    for j = 0, s:heads(l) - 1 do
      if heads[j] then h = j end
    end
    if s:layer(l).attn and h then
      -- the user may remove this very head from the screen while the policy is paused in the
      -- try: then the try is refused, and the busy work goes on with another one
      local ok, e = pcall(s.try, s, {op = "drop_head", layer = l, head = h}, "busy work")
      if not ok and not tostring(e):find("already removed", 1, true) then error(e, 0) end
      n = n + 1
      if n % p.every == 0 then
        steps = steps + 1
        local hl = steps % layers
        s:apply({op = "set_hard", layer = hl, mode = "topk", k = 2 + steps}, "every " .. p.every .. " tries")
      end
    end
  end
end
