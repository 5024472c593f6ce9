# ATA SMART pages, logs and IDENTIFY (hal/smart). Corpus: the fixture pages, data and
# thresholds concatenated, from tests/fixtures/smart.
ward_fuzz_target(smart_ata LIBS ward_smart)
