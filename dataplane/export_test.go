package dataplane

// ReadBatchFrames is the reader's batch, for the external tests that must
// keep frames at least that long to reach the uncopied path.
const ReadBatchFrames = readBatchFrames
