# The collector's ingest-batch decoder, the wire codec's (firmware/wire): the agent's encoder
# output (the corpus) read by the collector's side. wire_decode.cmake covers both ends.
ward_fuzz_target(collector_ingest LIBS ward_wire)
