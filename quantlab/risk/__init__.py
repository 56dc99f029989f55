"""Risk: VaR/ES forecasts, VaR and ES backtests, Kelly estimates."""
