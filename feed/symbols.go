package feed

// Stock is one simulated listing.
type Stock struct {
	// Symbol is the ticker, and the last token of the topic: "AAPL" is
	// published on "stocks.AAPL". It must be a valid topic token.
	Symbol string
	// Name is the company name shown next to the symbol. Default the
	// symbol.
	Name string
	// Price is the previous close in dollars, where the walk starts.
	// It must be positive.
	Price float64
	// Volatility is the annualised volatility of the walk (0.25 is 25%).
	// Zero means 0.25.
	Volatility float64
	// Volume is the typical number of shares traded in a whole session; it
	// paces the volume counter. Zero means 10 million.
	Volume int64
}

// defaultStocks is a set of large US listings with prices, volatilities and
// volumes of the right order, so that the demo looks like a market.
// Share classes with a dot (BRK.B) are left out: a dot splits topic tokens.
var defaultStocks = []Stock{
	{"AAPL", "Apple Inc.", 189.73, 0.25, 55_000_000},
	{"MSFT", "Microsoft Corporation", 415.20, 0.22, 22_000_000},
	{"GOOGL", "Alphabet Inc.", 172.40, 0.28, 25_000_000},
	{"AMZN", "Amazon.com, Inc.", 185.60, 0.30, 40_000_000},
	{"NVDA", "NVIDIA Corporation", 135.50, 0.50, 250_000_000},
	{"META", "Meta Platforms, Inc.", 505.30, 0.35, 15_000_000},
	{"TSLA", "Tesla, Inc.", 248.50, 0.60, 90_000_000},
	{"JPM", "JPMorgan Chase & Co.", 198.40, 0.20, 9_000_000},
	{"V", "Visa Inc.", 275.10, 0.18, 7_000_000},
	{"JNJ", "Johnson & Johnson", 152.30, 0.15, 7_000_000},
	{"WMT", "Walmart Inc.", 68.20, 0.17, 15_000_000},
	{"XOM", "Exxon Mobil Corporation", 114.80, 0.22, 15_000_000},
	{"PG", "The Procter & Gamble Company", 165.40, 0.14, 6_000_000},
	{"MA", "Mastercard Incorporated", 462.70, 0.20, 3_000_000},
	{"HD", "The Home Depot, Inc.", 345.90, 0.20, 3_500_000},
	{"KO", "The Coca-Cola Company", 62.80, 0.13, 13_000_000},
	{"PEP", "PepsiCo, Inc.", 171.50, 0.14, 5_000_000},
	{"DIS", "The Walt Disney Company", 101.30, 0.25, 9_000_000},
	{"NFLX", "Netflix, Inc.", 640.20, 0.35, 3_500_000},
	{"AMD", "Advanced Micro Devices, Inc.", 158.90, 0.45, 50_000_000},
	{"INTC", "Intel Corporation", 31.40, 0.35, 40_000_000},
	{"CSCO", "Cisco Systems, Inc.", 48.60, 0.18, 18_000_000},
	{"ORCL", "Oracle Corporation", 126.70, 0.28, 8_000_000},
	{"CRM", "Salesforce, Inc.", 272.30, 0.30, 6_000_000},
	{"NKE", "NIKE, Inc.", 93.40, 0.25, 9_000_000},
	{"BA", "The Boeing Company", 178.20, 0.32, 7_000_000},
}

// DefaultStocks returns a copy of the listings the stock simulator uses when
// StocksOptions.Stocks is empty.
func DefaultStocks() []Stock {
	return append([]Stock(nil), defaultStocks...)
}
