-- A commit from a coroutine the policy created: refused (the host could not see the step).
function run(s, p)
  local co = coroutine.wrap(function() s:apply({op = "drop_head", layer = 0, head = 0}) end)
  co()
end
