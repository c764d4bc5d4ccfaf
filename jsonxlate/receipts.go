package jsonxlate

const nsReceipts = "urn:xmpp:receipts"

// receipt_request and received are XEP-0184 Message Delivery Receipts in a
// message: true for <request/>, and the id of <received/>.
var receiptRequestField = friendlyField{name: "receipt_request", ns: nsReceipts, local: "request", falseIsNone: true,
	fits: (*toJSON).isReceiptRequest, toJSON: (*toJSON).receiptRequest, toXML: (*xmlWriter).receiptRequest}

// isReceiptRequest: <request xmlns='urn:xmpp:receipts'/>.
func (c *toJSON) isReceiptRequest(idx int32) bool {
	n := &c.t.nodes[idx]
	return n.first < 0 && n.a0 == n.a1
}

func (c *toJSON) receiptRequest(dst []byte, _ int32) []byte {
	return append(dst, "true"...)
}

func (w *xmlWriter) receiptRequest(v, _ int32, p *path) *Error {
	switch w.n[v].typ {
	case jTrue:
		w.empty(p, "request", nsReceipts)
	case jFalse:
	default:
		return errAt(CodeBadValue, field(p, "receipt_request"), "must be true or false")
	}
	return nil
}

var receivedField = friendlyField{name: "received", ns: nsReceipts, local: "received",
	fits: (*toJSON).isReceived, toJSON: (*toJSON).received, toXML: (*xmlWriter).received}

// isReceived: <received xmlns='urn:xmpp:receipts' id='…'/>.
func (c *toJSON) isReceived(idx int32) bool {
	n := &c.t.nodes[idx]
	return n.first < 0 && n.a1 == n.a0+1 && c.attrIs(n.a0, "", "id")
}

func (c *toJSON) received(dst []byte, idx int32) []byte {
	return c.value(dst, c.t.attrs[c.t.nodes[idx].a0].raw, true)
}

func (w *xmlWriter) received(v, _ int32, p *path) *Error {
	s, err := w.str(v, field(p, "received"))
	if err != nil {
		return err
	}
	if err := w.open(p, "received", nsReceipts); err != nil {
		return err
	}
	w.attr("id", s)
	w.end(w.startEnd(), "received")
	return nil
}
