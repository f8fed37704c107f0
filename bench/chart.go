package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
)

// bar is one bar of the chart.
type bar struct {
	label     string
	value     float64
	highlight bool // tapflow's own rows
}

var (
	chartBG    = color.RGBA{0xff, 0xff, 0xff, 0xff}
	chartText  = color.RGBA{0x22, 0x22, 0x22, 0xff}
	chartGrid  = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	chartSub   = color.RGBA{0x66, 0x66, 0x66, 0xff}
	chartPeer  = color.RGBA{0x8c, 0x96, 0xa5, 0xff}
	chartOwn   = color.RGBA{0x1f, 0x77, 0xb4, 0xff}
	chartScale = 2 // font pixels per dot
)

// writeChart draws a horizontal bar chart of packets/s to path as PNG,
// with the standard library only (font5x7 for the text).
func writeChart(path, title, subtitle string, bars []bar) error {
	const (
		left   = 360 // label column
		right  = 150 // room for the value text
		barW   = 600
		rowH   = 40
		top    = 80
		bottom = 30
	)
	w := left + barW + right
	h := top + rowH*max(len(bars), 1) + bottom
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Rect, chartBG)
	drawText(img, 16, 14, title, chartText)
	drawText(img, 16, 40, subtitle, chartSub)
	var maxV float64
	for _, b := range bars {
		maxV = max(maxV, b.value)
	}
	if maxV == 0 {
		maxV = 1
	}
	// Grid lines at quarters of the largest bar.
	for q := 0; q <= 4; q++ {
		x := left + barW*q/4
		fill(img, image.Rect(x, top-6, x+1, h-bottom), chartGrid)
	}
	for i, b := range bars {
		y := top + i*rowH
		drawText(img, 16, y+(rowH-7*chartScale)/2, b.label, chartText)
		n := int(float64(barW) * b.value / maxV)
		c := chartPeer
		if b.highlight {
			c = chartOwn
		}
		fill(img, image.Rect(left, y+6, left+max(n, 1), y+rowH-6), c)
		drawText(img, left+n+8, y+(rowH-7*chartScale)/2, formatPPS(b.value)+"pps", chartText)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// drawText draws s with its top-left corner at (x, y); characters outside
// printable ASCII are approximated.
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA) {
	s = strings.NewReplacer("→", "->", "×", "x", "≤", "<=", "—", "-").Replace(s)
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		g := font5x7[r-0x20]
		for col := range 5 {
			for row := range 8 {
				if g[col]>>row&1 == 1 {
					fill(img, image.Rect(x+col*chartScale, y+row*chartScale, x+(col+1)*chartScale, y+(row+1)*chartScale), c)
				}
			}
		}
		x += 6 * chartScale
	}
}
