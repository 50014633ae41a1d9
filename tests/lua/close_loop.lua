-- To-be-closed variables whose __close never returns, in the policy's coroutine and in a
-- wrapped one: a coroutine stopped from the hook would run them with hooks off.
function run(s, p)
  local x <close> = setmetatable({}, {__close = function() while true do end end})
  local spin = coroutine.wrap(function()
    local y <close> = setmetatable({}, {__close = function() while true do end end})
    while true do end
  end)
  spin()
end
