# The collector's ingest-batch decoder with the firmware's JSON scanner and state vocabulary:
# the agent's encoder output (the corpus) read by the collector's side.
ward_fuzz_target(collector_ingest LIBS ward_wire)
