output "api_url" {
  description = "Base URL of the API (e.g. <api_url>/health, <api_url>/graphql)."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "lambda_function" {
  description = "The function; migrate with: aws lambda invoke --function-name <this> --payload '{\"action\": \"migrate\"}' --cli-binary-format raw-in-base64-out out.json"
  value       = aws_lambda_function.api.function_name
}

output "db_endpoint" {
  description = "RDS endpoint (reachable from the VPC only)."
  value       = aws_db_instance.main.address
}
