"""The API contracts: each reads its requests into one ``OcrRequest`` and writes results and
errors in its own envelope. Everything else is the service's."""

from ocr_api.dialects import console, gugudata_legacy, gugudata_v1, jobs, tencent, tupu, universal, uploads, usage

DIALECTS = (
    gugudata_v1.DIALECT,
    gugudata_legacy.DIALECT,
    universal.DIALECT,
    tupu.DIALECT,
    tencent.DIALECT,
    usage.DIALECT,
    uploads.DIALECT,
    jobs.DIALECT,
    console.DIALECT,
)
