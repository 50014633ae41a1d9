-- slow.lua: a test policy that keeps the worker busy. It tries head removals over and over
-- (each try is a real evaluation of the search split) and commits one step every `every` tries,
-- so a test can watch a policy that runs, pause it and carry on, without depending on how fast
-- the machine is.
name = "slow (test)"
params = { tries = 100000, every = 1000000 }

function run(s, p)
  local n = 0
  for i = 1, p.tries do
    local l = i % s:layers()
    local a = {op = "drop_head", layer = l, head = i % s:heads(l)}
    if s:layer(l).attn and s:layer(l).head[a.head] then
      s:try(a, "busy work")
      n = n + 1
      if n % p.every == 0 then
        s:apply(a, "every " .. p.every .. " tries")
      end
    end
  end
end
