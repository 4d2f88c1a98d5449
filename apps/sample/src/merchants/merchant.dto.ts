import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { ALIPAY_AUTHORIZATION_STATUSES } from 'nestjs-alipay-auth';

/** An authorization as the operators' API shows it: no secrets, the token masked. */
export class MerchantDto {
  @ApiProperty({ example: '2021004100000001' }) appId: string;
  @ApiProperty({ example: '2021004199990001' }) authAppId: string;
  @ApiProperty({ nullable: true, type: String, example: '2088000000000001' }) userId: string | null;
  @ApiProperty({ enum: [...ALIPAY_AUTHORIZATION_STATUSES] }) status: string;
  @ApiProperty({ nullable: true, type: String }) statusReason: string | null;
  @ApiProperty({ example: '202611…F12' }) maskedToken: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) expiresAt: Date | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) refreshExpiresAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time' }) tokenIssuedAt: Date;
  @ApiProperty({ type: String, format: 'date-time' }) authorizedAt: Date;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastRefreshedAt: Date | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastCheckedAt: Date | null;
  @ApiProperty() failureCount: number;
  @ApiProperty({ nullable: true, type: String }) lastErrorCode: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time', description: 'When a refresh last failed (kept after a success)' })
  lastFailureAt: Date | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) nextAttemptAt: Date | null;
}

/** A listed authorization: no token at all (a listing decrypts nothing; one merchant's page shows it masked). */
export class MerchantListItemDto extends OmitType(MerchantDto, ['maskedToken'] as const) {}

export class MerchantListDto {
  @ApiProperty({ type: [MerchantListItemDto] }) items: MerchantListItemDto[];
  @ApiProperty() total: number;
  @ApiProperty() offset: number;
  @ApiProperty() limit: number;
}

export class RefreshResultDto {
  @ApiProperty({ enum: ['refreshed'] }) result: string;
  @ApiProperty({ type: MerchantDto }) authorization: MerchantDto;
}

class AlipayErrorDetailDto {
  @ApiProperty({
    enum: [
      'authorization-required',
      'authorization-state',
      'token-unreadable',
      'alipay-error',
      'alipay-signature',
      'alipay-timeout',
      'alipay-unreachable',
      'store-unavailable',
      'configuration',
      'internal',
    ],
  })
  type: string;
  @ApiProperty() message: string;
  @ApiPropertyOptional({ description: 'The merchant app concerned' }) authAppId?: string;
  @ApiPropertyOptional({ description: 'Why the merchant must authorize again' }) reason?: string;
  @ApiPropertyOptional({ description: "Alipay's code (or the signature error code)" }) alipayCode?: string;
  @ApiPropertyOptional({ description: "Alipay's trace id, for Alipay support" }) traceId?: string;
}

/** The body of the library's AlipayAuthExceptionFilter (AlipayAuthErrorBody). */
export class AlipayErrorDto {
  @ApiProperty() statusCode: number;
  @ApiProperty({ type: AlipayErrorDetailDto }) error: AlipayErrorDetailDto;
}
