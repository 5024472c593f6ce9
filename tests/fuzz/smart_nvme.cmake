# NVMe SMART / Health log and Identify Controller (hal/smart). Corpus: tests/fixtures/smart.
ward_fuzz_target(smart_nvme LIBS ward_smart)
