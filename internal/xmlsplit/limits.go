package xmlsplit

// Defaults for the zero Limits.
const (
	defaultMaxBytes = 256 << 10
	defaultMaxDepth = 64
)

func (l Limits) maxBytes() int {
	if l.MaxBytes <= 0 {
		return defaultMaxBytes
	}
	return l.MaxBytes
}

func (l Limits) maxDepth() int {
	if l.MaxDepth <= 0 {
		return defaultMaxDepth
	}
	return l.MaxDepth
}
