-- Does nothing: a search with it records only the baseline of the model it opened.
name = "noop"
params = {}
function run(s, p) end
