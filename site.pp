$s = generate('/bin/sh','-c','echo compiling > /tmp/fuzz-puppet/live/marker')
Integer[1,2000000000].each |$i| {}
