package xmlsplit

// Temporary bodies so dependants compile; replaced by parse.go and split.go.

func Parse(b []byte, opt ParseOptions) (Element, error) { panic("xmlsplit: unimplemented") }

func (e *Element) Attr(name string) ([]byte, bool) { panic("xmlsplit: unimplemented") }

func Unescape(dst, raw []byte) ([]byte, error) { panic("xmlsplit: unimplemented") }

type Splitter struct {
	Limits
}

func (s *Splitter) Split(buf []byte) (Item, int, error) { panic("xmlsplit: unimplemented") }

func (s *Splitter) Reset() {}

func (s *Splitter) Namespace(prefix []byte) (string, bool) { panic("xmlsplit: unimplemented") }

func (e *SyntaxError) Error() string { return "xmlsplit: " + e.Msg }
