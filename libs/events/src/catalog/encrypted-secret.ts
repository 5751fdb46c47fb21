import { IsBase64, IsId, IsOneOf } from './validation';

/** A secret encrypted at rest (AES-256-GCM); every binary field is base64. */
export class EncryptedSecret {
  @IsOneOf(['aes-256-gcm'] as const) readonly alg!: 'aes-256-gcm';
  @IsId() readonly key_id!: string;
  @IsBase64() readonly iv!: string;
  @IsBase64() readonly tag!: string;
  @IsBase64() readonly ciphertext!: string;
}
